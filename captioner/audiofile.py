"""Reading audio files as a stream of mono blocks at the model's sample rate.

Files are decoded block by block, downmixed and resampled exactly as the app's capture path does
(soxr's band-limited streaming resampler, not decimation), so an hour-long recording costs the memory
of a block and the CLI hears what the app would.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

from captioner.audio.resample import StreamResampler, to_model_rate
from captioner.errors import AudioInputError


def describe_audio(path: Path) -> sf._SoundFileInfo:
    if not path.exists():
        raise AudioInputError(f"The audio file {path} does not exist.")
    if path.is_dir():
        raise AudioInputError(f"{path} is a folder; give an audio file (WAV, FLAC, OGG or MP3).")
    if not os.access(path, os.R_OK):
        raise AudioInputError(f"The audio file {path} cannot be read: permission denied. Check its permissions "
                              f"(`chmod u+r {path.name}`) or copy it somewhere readable.")
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioInputError(
            f"{path} is not an audio file Captioner can read ({exc}). Supported: WAV, FLAC, OGG/Vorbis, "
            "OGG/Opus and MP3; convert others first, e.g. `ffmpeg -i INPUT -ar 16000 -ac 1 out.wav`."
        ) from exc


def iter_audio_blocks(path: Path, sample_rate: int, block_seconds: float = 0.1
                      ) -> Iterator[npt.NDArray[np.float32]]:
    """Yield mono float32 blocks at ``sample_rate`` (the last one flushes the resampler)."""
    info = describe_audio(path)
    block = max(1, int(info.samplerate * block_seconds))
    resampler = StreamResampler(info.samplerate, sample_rate)  # the same conversion the app's capture uses
    read = 0
    try:
        with sf.SoundFile(str(path)) as handle:
            while True:
                data = handle.read(block, dtype="float32", always_2d=True)
                read += data.shape[0]
                last = data.shape[0] < block
                mono = to_model_rate(data, resampler, last=last)
                if mono.size:
                    yield mono
                if last:
                    return
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioInputError(f"Reading {path} failed at {read / info.samplerate:.1f} s of {info.duration:.1f} s "
                              f"({exc}); the file may be truncated.") from exc


def load_audio(path: Path, sample_rate: int) -> npt.NDArray[np.float32]:
    """The whole file as mono float32 at ``sample_rate``."""
    blocks = list(iter_audio_blocks(path, sample_rate, block_seconds=1.0))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
