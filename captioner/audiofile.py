"""The old home of :mod:`captioner.audio.file_reader`, kept while ``captioner/cli/transcribe_cmd.py`` imports it."""

from __future__ import annotations

from captioner.audio.file_reader import describe_audio, iter_audio_blocks, load_audio

__all__ = ["describe_audio", "iter_audio_blocks", "load_audio"]
