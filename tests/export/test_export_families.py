"""The newer members of NVIDIA's cache-aware family, as ``captioner export`` writes them (tools/make_fixtures.py).

* tiny-c: ``EncDecRNNTBPEModel`` like nemotron-speech-streaming-en-0.6b: RNNT only (no CTC head), 128 mels,
  a 2-layer LSTM prediction net, BatchNorm in the conv modules, a cased and punctuated vocabulary.
* tiny-d: ``EncDecRNNTBPEModelWithPrompt`` like nemotron-3.5-asr-streaming-0.6b: the same plus a language prompt;
  its encoder graphs take ``prompt_index`` and NeMo's references exist per locale.

No NeMo here: these read the committed fixtures. The plain token parity of every case is in test_parity.py;
this file checks what is new (the index fields, the graph interfaces, the prompt) and replays the prompt
model's references with the locale they were made with.
"""

from __future__ import annotations

import tarfile
from functools import cache
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import sentencepiece as spm
import yaml

from captioner.asr.model_folder import ModelFolder, load_model_folder
from captioner.asr.recognizer import StreamingRecognizer, transcribe_samples
from tests.conftest import FIXTURES, cases_index, clip, reference

INDEX = cases_index()
MODELS = INDEX["models"]
PROMPT_MODEL = "tiny-d"
RNNT_ONLY = ("tiny-c", "tiny-d")
PROMPT_CASES = [c for c in INDEX["cases"] if c["model"] == PROMPT_MODEL]


@cache
def folder(model: str) -> ModelFolder:
    return load_model_folder(FIXTURES / MODELS[model]["model_dir"])


@cache
def recognizer(model: str, lookahead_ms: int, mode: str, language: str | None) -> StreamingRecognizer:
    return StreamingRecognizer(folder(model), decoder="rnnt", lookahead_ms=lookahead_ms, mode=mode, provider="cpu",
                               language=language)


def nemo_config(model: str) -> dict[str, Any]:
    with tarfile.open(FIXTURES / MODELS[model]["nemo"]) as tar:
        member = tar.extractfile("./model_config.yaml")
        assert member is not None
        config: dict[str, Any] = yaml.safe_load(member.read())
    return config


@pytest.mark.parametrize("model", sorted(MODELS))
def test_index_describes_every_model(model: str) -> None:
    info = MODELS[model]
    assert (FIXTURES / info["nemo"]).is_file()
    config = nemo_config(model)
    assert config["target"].rsplit(".", 1)[-1] == info["model_class"]
    assert config["preprocessor"]["features"] == info["n_mels"] == folder(model).spec.preprocessor.n_mels
    assert config["encoder"]["feat_in"] == info["n_mels"]
    assert info["decoders"] == folder(model).spec.decoders()
    assert ("aux_ctc" in config) == ("ctc" in info["decoders"])
    assert info["seed_dir"] is None or (FIXTURES / info["seed_dir"]).is_dir()
    assert all("locale" in c for c in INDEX["cases"] + INDEX["offline"] if c["model"] == model)


def test_new_families_cover_the_matrix() -> None:
    clips = set(INDEX["clips"])
    for model in RNNT_ONLY:
        cases = [c for c in INDEX["cases"] if c["model"] == model]
        locales = MODELS[model].get("locales", [None])
        assert {c["decoder"] for c in cases} == {"rnnt"}
        assert len(cases) == len(clips) * len(MODELS[model]["lookaheads_ms"]) * 2 * len(locales)
        assert {c["locale"] for c in cases} == set(locales)
        assert sum(c["n_tokens"] for c in cases) > 500
        assert sum(c["repeats_in_frame"] for c in cases) > 0
    assert MODELS["tiny-c"]["model_class"] == "EncDecRNNTBPEModel"
    assert MODELS[PROMPT_MODEL]["model_class"] == "EncDecRNNTBPEModelWithPrompt"
    for case in PROMPT_CASES:
        assert case["id"].endswith("/" + case["locale"]) and case["ids_key"].endswith("/" + case["locale"])
        assert case["enc_key"].endswith("/" + case["locale"])


@pytest.mark.parametrize("model", RNNT_ONLY)
def test_rnnt_only_export(model: str) -> None:
    """No CTC head; a 2-layer prediction net (state [2, B, H]); 128-mel encoder input; BatchNorm in the config."""
    spec = folder(model).spec
    assert spec.ctc is None and not (FIXTURES / MODELS[model]["model_dir"] / "ctc_head.onnx").exists()
    assert spec.rnnt is not None and spec.rnnt.pred_rnn_layers == 2
    assert spec.preprocessor.n_mels == spec.encoder.feat_in == 128
    config = nemo_config(model)
    assert config["encoder"]["conv_norm_type"] == "batch_norm"
    assert config["decoder"]["prednet"]["pred_rnn_layers"] == 2
    joint = ort.InferenceSession(str(folder(model).file(spec.rnnt.decoder_joint_file)),
                                 providers=["CPUExecutionProvider"])
    states = {i.name: i.shape for i in joint.get_inputs() if i.name.startswith("input_states")}
    assert [shape[0] for shape in states.values()] == [2, 2]
    sp = spm.SentencePieceProcessor(model_proto=folder(model).tokenizer_model)
    pieces = [sp.id_to_piece(i) for i in range(spec.vocab_size)]
    assert any(p != p.lower() for p in pieces) and {"?", ",", "."} <= set(pieces), "a cased, punctuated vocabulary"


def test_prompt_manifest_and_graphs() -> None:
    spec = folder(PROMPT_MODEL).spec
    info = MODELS[PROMPT_MODEL]
    assert spec.prompt is not None
    assert spec.prompt.dictionary == info["prompt"]["dictionary"] == nemo_config(PROMPT_MODEL)["model_defaults"][
        "prompt_dictionary"]
    assert sorted(spec.prompt.dictionary.values()) != list(range(len(spec.prompt.dictionary))), "non-contiguous"
    assert spec.prompt.default == "auto" and spec.prompt.num_prompts == info["prompt"]["num_prompts"]
    assert set(info["locales"]) <= set(spec.prompt.dictionary)
    for s in spec.streaming:
        for name in (s.encoder_file, s.first_chunk_encoder_file):
            assert name is not None
            inputs = {i.name: i for i in ort.InferenceSession(str(folder(PROMPT_MODEL).file(name)),
                                                               providers=["CPUExecutionProvider"]).get_inputs()}
            assert inputs["prompt_index"].type == "tensor(int64)" and len(inputs["prompt_index"].shape) == 1


@pytest.mark.parametrize("locale", MODELS[PROMPT_MODEL]["locales"])
def test_first_step_equals_nemo_prompted_output(locale: str) -> None:
    """Mode A step 0 through the first-chunk graph with ``prompt_index`` = NeMo's prompted encoder output."""
    spec = folder(PROMPT_MODEL).spec
    assert spec.prompt is not None
    case = next(c for c in PROMPT_CASES if c["clip"] == "speech_3s" and c["mode"] == "A" and c["locale"] == locale)
    ref = reference(case["npz"])
    s = spec.streaming_for(case["lookahead_ms"])
    assert s.first_chunk_encoder_file is not None
    feats = ref[case["features_key"]][:, : s.chunk_frames[0]]
    n_layers, d, cache = spec.encoder.n_layers, spec.encoder.d_model, s.last_channel_cache_size
    session = ort.InferenceSession(str(folder(PROMPT_MODEL).file(s.first_chunk_encoder_file)),
                                   providers=["CPUExecutionProvider"])
    feeds = {
        "audio_signal": feats[None].astype(np.float32),
        "length": np.array([feats.shape[1]], np.int64),
        "cache_last_channel": np.zeros((1, n_layers, cache, d), np.float32),
        "cache_last_time": np.zeros((1, n_layers, d, spec.encoder.conv_cache_size), np.float32),
        "cache_last_channel_len": np.zeros(1, np.int64),
    }
    n = int(ref[case["steps_key"]][0][4])
    outputs = {}
    for loc in spec.prompt.dictionary:
        got = session.run(None, {**feeds, "prompt_index": np.array([spec.prompt.index(loc)], np.int64)})
        outputs[loc] = got[0][0, :, :n]
    np.testing.assert_allclose(outputs[locale], ref[case["enc_key"]][:, :n], rtol=0, atol=1e-4)
    others = [loc for loc in outputs if loc != locale]
    assert all(np.max(np.abs(outputs[loc] - outputs[locale])) > 1e-2 for loc in others), "the prompt matters"


@pytest.mark.parametrize("case", PROMPT_CASES, ids=[c["id"] for c in PROMPT_CASES])
def test_prompt_tokens_identical_to_nemo(case: dict[str, Any]) -> None:
    rec = recognizer(case["model"], case["lookahead_ms"], case["mode"], case["locale"])
    rec.reset()
    tokens = transcribe_samples(rec, clip(case["clip"]), block=1000)
    ref = reference(case["npz"])
    assert [t.id for t in tokens] == ref[case["ids_key"]].tolist()
    assert [t.frame for t in tokens] == ref[case["frames_key"]].tolist()


def test_locales_decode_differently() -> None:
    """On speech every pair of referenced locales gives different tokens (the generator asserts it for NeMo):
    a runtime that ignored the language could not pass the per-locale cases above."""
    ref = reference(MODELS[PROMPT_MODEL]["npz"])
    groups: dict[tuple[Any, ...], list[list[int]]] = {}
    for c in PROMPT_CASES:
        if c["clip"].startswith("speech"):
            groups.setdefault((c["clip"], c["lookahead_ms"], c["mode"]), []).append(ref[c["ids_key"]].tolist())
    assert groups
    for ids in groups.values():
        assert len(ids) == len(MODELS[PROMPT_MODEL]["locales"])
        assert all(a != b for i, a in enumerate(ids) for b in ids[i + 1:])
