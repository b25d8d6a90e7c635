"""Decoder, streaming mode and provider are enums that still read and write the plain words users type."""

from __future__ import annotations

import pytest

from captioner.asr.choices import Decoder, Provider, StreamingMode, parse
from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import StreamingRecognizer
from captioner.asr.runtime import ProviderError, resolve_providers
from captioner.errors import CaptionerError
from tests.conftest import FIXTURES

MODEL = FIXTURES / "models" / "tiny-a"


def test_members_are_their_words() -> None:
    assert Decoder("rnnt") is Decoder.RNNT and Decoder.CTC == "ctc"
    assert StreamingMode("S") is StreamingMode.SHERPA
    assert f"{Provider.CUDA}" == "cuda"


def test_an_unknown_word_names_the_choices() -> None:
    with pytest.raises(CaptionerError, match=r"Unknown decoder 'tdt'; choose rnnt, ctc\."):
        parse(Decoder, "tdt", "decoder")
    with pytest.raises(ProviderError, match="choose one of auto, cuda, cpu"):
        resolve_providers("rocm")


def test_the_recognizer_takes_words_or_members_and_reports_members() -> None:
    folder = load_model_folder(MODEL)
    by_word = StreamingRecognizer(folder, decoder="ctc", mode="B", provider="cpu")
    assert by_word.decoder_name is Decoder.CTC and by_word.mode is StreamingMode.NEMO_B
    by_member = StreamingRecognizer(folder, decoder=Decoder.RNNT, provider=Provider.CPU)
    assert by_member.mode is StreamingMode.NEMO_A, "a folder with first-chunk graphs streams as NeMo's default"
    with pytest.raises(CaptionerError, match="Unknown streaming mode 'C'; choose A, B, S"):
        StreamingRecognizer(folder, mode="C", provider="cpu")
    assert folder.spec.decoders() == [Decoder.RNNT, Decoder.CTC]
