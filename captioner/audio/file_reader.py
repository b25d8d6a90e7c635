"""Reading audio files block by block: the one reader behind ``captioner transcribe`` and the app's file input.

:class:`AudioFile` checks a file can be read and yields its blocks at the file's own rate and channel
count; a read that fails part-way raises :class:`~captioner.errors.AudioReadError` after everything before
the break was yielded. :func:`iter_audio_blocks` downmixes and resamples those blocks exactly as the
app's capture path does (soxr's band-limited streaming resampler, not decimation), so an hour-long
recording costs the memory of a block and the CLI hears what the app would;
:class:`~captioner.audio.file_feeder.FileFeeder` feeds them to the app's ring buffer in real time.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

from captioner.audio.resample import StreamResampler, to_model_rate
from captioner.errors import AudioInputError, AudioReadError


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


class AudioFile:
    """An audio file that :func:`describe_audio` accepted, read in blocks of its own rate and channels."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.info = describe_audio(path)
        self.sample_rate = int(self.info.samplerate)
        self.channels = int(self.info.channels)
        self.duration_s = float(self.info.duration)

    def frames(self, seconds: float) -> int:
        """How many frames (at least one) make ``seconds`` of this file."""
        return max(1, int(self.sample_rate * seconds))

    def blocks(self, frames: int) -> Generator[npt.NDArray[np.float32], None, None]:
        """Yield ``(n, channels)`` float32 blocks of ``frames`` frames; the last one is shorter (maybe empty).

        A read that fails (a truncated file, a bad sector) raises :class:`AudioReadError` saying where,
        after every block before the failure has been yielded.
        """
        read = 0
        try:
            with sf.SoundFile(str(self.path)) as handle:
                while True:
                    data = handle.read(frames, dtype="float32", always_2d=True)
                    read += data.shape[0]
                    yield data
                    if data.shape[0] < frames:
                        return
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise AudioReadError(self.path, read / self.sample_rate, self.duration_s, exc) from exc


def iter_audio_blocks(path: Path, sample_rate: int, block_seconds: float = 0.1
                      ) -> Iterator[npt.NDArray[np.float32]]:
    """Yield mono float32 blocks at ``sample_rate`` (the last one flushes the resampler)."""
    audio = AudioFile(path)
    frames = audio.frames(block_seconds)
    resampler = StreamResampler(audio.sample_rate, sample_rate)  # the same conversion the app's capture uses
    for data in audio.blocks(frames):
        mono = to_model_rate(data, resampler, last=data.shape[0] < frames)
        if mono.size:
            yield mono


def load_audio(path: Path, sample_rate: int) -> npt.NDArray[np.float32]:
    """The whole file as mono float32 at ``sample_rate``."""
    blocks = list(iter_audio_blocks(path, sample_rate, block_seconds=1.0))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
