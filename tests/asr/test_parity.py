"""Token identity with NeMo's own cache-aware streaming (``conformer_stream_step``) in every recorded case.

The references were produced by NeMo 3.0 on tiny random-weight models (tools/make_fixtures.py): two hybrid
RNNT + CTC architectures, an RNNT-only 128-mel model and a language-prompt model (three locales); every
lookahead, modes A and B, RNNT and CTC, speech, silence, a 60 ms clip and noise. These are the
``captioner export`` folders; ``test_nemo_import.py`` replays the same cases on imported folders. Token ids
AND their encoder-frame indices must match.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest

from captioner.asr.features import StreamingFeaturizer, compute_features
from captioner.asr.model_folder import ModelFolder, load_model_folder
from captioner.asr.recognizer import StreamingRecognizer, transcribe_samples
from tests.conftest import FIXTURES, cases_index, clip, reference

CASES = cases_index()["cases"]


@cache
def folder(model: str, layout: str = "model_dir") -> ModelFolder:
    return load_model_folder(FIXTURES / cases_index()["models"][model][layout])


@cache
def recognizer(model: str, lookahead_ms: int, mode: str, decoder: str, language: str | None = None
               ) -> StreamingRecognizer:
    return StreamingRecognizer(folder(model), decoder=decoder, lookahead_ms=lookahead_ms, mode=mode, provider="cpu",
                               language=language)


def test_reference_covers_the_matrix() -> None:
    assert len(CASES) >= 100
    assert {c["mode"] for c in CASES} == {"A", "B"} and {c["decoder"] for c in CASES} == {"rnnt", "ctc"}
    assert len({c["model"] for c in CASES}) >= 2
    assert sum(c["n_tokens"] for c in CASES) > 1000
    assert sum(c["repeats_across_steps"] for c in CASES) > 0, "the repeated-token regression needs such cases"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_tokens_identical_to_nemo(case: dict[str, Any]) -> None:
    ref = reference(case["npz"])
    rec = recognizer(case["model"], case["lookahead_ms"], case["mode"], case["decoder"], case.get("locale"))
    rec.reset()
    tokens = transcribe_samples(rec, clip(case["clip"]), block=1000)
    assert [t.id for t in tokens] == ref[case["ids_key"]].tolist()
    assert [t.frame for t in tokens] == ref[case["frames_key"]].tolist()


@pytest.mark.parametrize("block", [1, 160, 517, 16000, 10**6])
def test_block_size_does_not_change_tokens(block: int) -> None:
    """Feeding 1 sample at a time or the whole clip at once gives the same tokens (repeated-token regression)."""
    case = next(c for c in CASES if c["id"] == "tiny-a/speech_8s/la80/A/rnnt")
    rec = recognizer("tiny-a", 80, "A", "rnnt")
    rec.reset()
    audio = clip("speech_8s")[: 16000 * 2] if block == 1 else clip("speech_8s")
    ids = [t.id for t in transcribe_samples(rec, audio, block=block)]
    expected = reference(case["npz"])[case["ids_key"]].tolist()
    if block == 1:
        rec.reset()
        expected = [t.id for t in transcribe_samples(rec, audio, block=4000)]
    assert ids == expected


def test_repeats_across_chunk_boundaries_are_kept() -> None:
    """RNNT emits the same id on both sides of a step boundary in these cases: none dropped, none doubled."""
    cases = [c for c in CASES if c["decoder"] == "rnnt" and c["repeats_across_steps"] > 0]
    assert cases
    for case in cases[:4]:
        rec = recognizer(case["model"], case["lookahead_ms"], case["mode"], "rnnt")
        rec.reset()
        ids = [t.id for t in transcribe_samples(rec, clip(case["clip"]))]
        assert ids == reference(case["npz"])[case["ids_key"]].tolist()


@pytest.mark.parametrize("name", sorted(cases_index()["clips"]))
def test_features_match_nemo(name: str) -> None:
    model = "tiny-a"
    ref = reference(cases_index()["models"][model]["npz"])[f"features/{name}"]
    spec = folder(model).spec.preprocessor
    ours = compute_features(clip(name), spec)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-4, rtol=0)
    featurizer = StreamingFeaturizer(spec)
    audio = clip(name)
    parts = [featurizer.accept(audio[i : i + 333]) for i in range(0, audio.size, 333)]
    np.testing.assert_allclose(np.concatenate([*parts, featurizer.finish()], axis=1), ours, atol=1e-5, rtol=0)


@pytest.mark.parametrize("model", ["tiny-a", "tiny-b"])
def test_seed_layout_gives_mode_b_tokens(model: str) -> None:
    """A hand-made NeMo export (one graph, .nemo or loose config) streams like NeMo's mode B."""
    seed = folder(model, "seed_dir")
    assert seed.spec.layout == "nemo-export"
    ms = seed.spec.lookaheads_ms()[0]
    assert ms == cases_index()["models"][model]["lookaheads_ms"][0]
    for decoder in ("rnnt", "ctc"):
        case = next(c for c in CASES if c["model"] == model and c["clip"] == "speech_8s" and c["mode"] == "B"
                    and c["lookahead_ms"] == ms and c["decoder"] == decoder)
        rec = StreamingRecognizer(seed, decoder=decoder, provider="cpu")
        assert rec.mode == "B"
        ids = [t.id for t in transcribe_samples(rec, clip("speech_8s"))]
        assert ids == reference(case["npz"])[case["ids_key"]].tolist()


def test_streams_of_one_loaded_model_share_its_graphs_not_their_state() -> None:
    """Two sources on one model: the sessions are opened once, and interleaved streams stay independent."""
    from captioner.asr.recognizer import LoadedModel

    model = LoadedModel(folder("tiny-a"), provider="cpu")
    one, two = (StreamingRecognizer(model, lookahead_ms=80, mode="A") for _ in range(2))
    assert one._encoder._session is two._encoder._session
    assert len(model._sessions) == 3  # encoder, first-chunk encoder, decoder_joint: once for both streams
    a, b = clip("speech_8s"), clip("tone_noise_3s")
    got_a, got_b = [], []
    for start in range(0, max(a.size, b.size), 1600):
        if start < a.size:
            got_a += one.accept(a[start:start + 1600])
        if start < b.size:
            got_b += two.accept(b[start:start + 1600])
    got_a += one.finish()
    got_b += two.finish()
    for got, name in ((got_a, "speech_8s"), (got_b, "tone_noise_3s")):
        case = next(c for c in CASES if c["id"] == f"tiny-a/{name}/la80/A/rnnt")
        assert [t.id for t in got] == reference(case["npz"])[case["ids_key"]].tolist()
