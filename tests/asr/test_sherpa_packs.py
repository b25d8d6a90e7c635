"""Ready-made ONNX folders: sherpa-onnx packs (mode S) and layer-first exports (mode B).

The references in ``fixtures/sherpa/references.json`` are sherpa-onnx 2.0.1's OWN tokens on each pack
(``fixtures/sherpa/make_packs.py``); CI has no sherpa-onnx, so they are committed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from captioner.asr.errors import ModelFolderError
from captioner.asr.manifest import spec_to_dict
from captioner.asr.model_folder import load_model_folder
from captioner.asr.model_report import inspect_model_folder
from captioner.asr.recognizer import StreamingRecognizer, transcribe_samples
from captioner.asr.sherpa_features import KaldiFbankSpec, SherpaFeaturizer, compute_sherpa_features
from captioner.asr.spec import CacheLayout, ModelLayout
from captioner.asr.tokenizer import Tokenizer, TokenTable
from tests.sherpa_packs import FIXTURES, SHERPA, add_metadata, layer_first_folder, pack

REFERENCES = json.loads((SHERPA / "references.json").read_text(encoding="utf-8"))
CLIPS = sorted(REFERENCES["packs"]["tiny-c-240ms"])
INT8_AGREEING = {
    "tiny-c-240ms-int8": {"short_60ms", "silence_2s", "speech_3s"},
    "tiny-a-80ms-int8": {"short_60ms", "silence_2s"},
}
"""int8 clips whose tokens equal sherpa-onnx's. On the others, dynamic activation quantisation turns the ~1e-6
relative feature difference (kiss_fft's float32 FFT vs numpy's) into different int8 activations; fed
kaldi-native-fbank's own features, Captioner matches sherpa-onnx on 9 of these 10 int8 runs (all float ones too)."""


def _audio(clip: str) -> np.ndarray:
    x, sr = sf.read(str(FIXTURES / "audio" / f"{clip}.wav"), dtype="float32")
    assert sr == 16000
    return np.asarray(x, np.float32)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("packs")


def _ids(folder: Path, clip: str, **kwargs: object) -> list[int]:
    rec = StreamingRecognizer(load_model_folder(folder), provider="cpu", threads=1, **kwargs)  # type: ignore[arg-type]
    return [t.id for t in transcribe_samples(rec, _audio(clip))]


# ------------------------------------------------------------------------------------------- sherpa-onnx parity
@pytest.mark.parametrize("name", ["tiny-c-240ms", "tiny-a-80ms"])
def test_float_pack_tokens_equal_sherpa_onnx(name: str, work: Path) -> None:
    folder = load_model_folder(pack(name, work))
    rec = StreamingRecognizer(folder, provider="cpu", threads=1)
    assert rec.mode == "S"
    for clip in CLIPS:
        rec.reset()
        tokens = transcribe_samples(rec, _audio(clip))
        ref = REFERENCES["packs"][name][clip]
        assert [t.id for t in tokens] == ref["ids"], clip
        assert [t.frame for t in tokens] == [round(x / 0.08) for x in ref["timestamps"]], clip
        assert [rec.tokenizer.piece(t.id).replace("\u2581", " ") for t in tokens] == ref["tokens"], clip


@pytest.mark.parametrize("name", sorted(INT8_AGREEING))
def test_int8_pack_tokens(name: str, work: Path) -> None:
    folder = pack(name, work)
    assert load_model_folder(folder).spec.quantization == "int8-dynamic"
    for clip in CLIPS:
        ids = _ids(folder, clip)
        if clip in INT8_AGREEING[name]:
            assert ids == REFERENCES["packs"][name][clip]["ids"], clip


def test_sherpa_pack_spec(work: Path) -> None:
    spec = load_model_folder(pack("tiny-c-240ms", work)).spec
    assert spec.layout is ModelLayout.SHERPA_ONNX and spec.layout == "sherpa-onnx"
    assert spec.preprocessor.n_mels == 128 and spec.encoder.n_layers == 2 and spec.encoder.d_model == 24
    s = spec.streaming[0]
    assert (s.att_context_size, s.chunk_frames[1], s.pre_encode_cache_size, s.valid_out_len) == ((16, 3), 32, 9, 4)
    assert spec.lookaheads_ms() == [240]
    assert spec.rnnt is not None and spec.rnnt.joiner_file == "joiner.onnx" and spec.rnnt.pred_rnn_layers == 2
    assert spec.vocab_size == 80 and spec.blank_id == 80 and spec.quantization is None


def test_mode_b_runs_on_a_pack_and_mode_s_on_a_captioner_folder(work: Path) -> None:
    assert _ids(pack("tiny-c-240ms", work), "speech_3s", mode="B")
    captioner = FIXTURES / "models" / "tiny-c"
    assert _ids(captioner, "speech_3s", mode="S", lookahead_ms=240) == REFERENCES["packs"]["tiny-c-240ms"][
        "speech_3s"]["ids"]  # same graphs, same streaming: decoder_joint gives sherpa's greedy result


# ------------------------------------------------------------------------------------------- features
def test_sherpa_features_stream_like_the_whole_signal() -> None:
    x = _audio("speech_3s")
    spec = KaldiFbankSpec(n_mels=80)
    whole = compute_sherpa_features(x, spec)
    assert whole.shape == (80, (x.size + 80) // 160)
    f = SherpaFeaturizer(spec)
    parts = [f.accept(x[i : i + 777]) for i in range(0, x.size, 777)] + [f.finish()]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)
    short = compute_sherpa_features(x[:100], spec)  # shorter than one frame: reflected twice
    assert short.shape == (80, 1) and np.isfinite(short).all()


# ------------------------------------------------------------------------------------------- layouts
def test_float_preferred_when_both_present(work: Path) -> None:
    both = work / "both"
    shutil.copytree(pack("tiny-c-240ms", work), both)
    for f in (SHERPA / "tiny-c-240ms-int8").glob("*.int8.onnx"):
        shutil.copy(f, both / f.name)
    folder = load_model_folder(both)
    assert folder.spec.streaming[0].encoder_file == "encoder.onnx" and folder.spec.quantization is None
    assert any("int8 graphs also present" in n for n in folder.spec.notes)
    report = inspect_model_folder(both)
    assert report.usable and report.layout_text == "sherpa-onnx pack (float)"
    assert "int8 graphs also present; using the float ones" in report.to_text()


def test_inspect_names_each_layout(work: Path) -> None:
    texts = {
        "tiny-c-240ms-int8": "sherpa-onnx pack (int8)",
        "tiny-c-240ms": "sherpa-onnx pack (float)",
    }
    for name, text in texts.items():
        report = inspect_model_folder(pack(name, work))
        assert report.usable, report.message
        assert f"Layout: {text}" in report.to_text()
        assert report.to_json()["layout"] == "sherpa-onnx" and report.to_json()["layout_text"] == text
        assert report.to_json()["lookaheads"][0]["streaming_modes"] == ["S", "B"]
    captioner = inspect_model_folder(FIXTURES / "models" / "tiny-c")
    assert captioner.layout_text == "Captioner folder (captioner export / import)"
    assert inspect_model_folder(FIXTURES / "seed" / "tiny-a").layout_text == "hand-made NeMo export + config"
    lf = inspect_model_folder(layer_first_folder(work / "inspect", with_config=False, with_metadata=True))
    assert lf.usable, lf.message
    assert lf.layout_text == "layer-first export (caches [layers, batch, ...])"


@pytest.mark.parametrize(("with_config", "with_metadata"), [(True, False), (False, True)])
def test_layer_first_export_equals_captioner_mode_b(work: Path, with_config: bool, with_metadata: bool) -> None:
    folder = layer_first_folder(work / f"lf-{with_config}-{with_metadata}", with_config=with_config,
                                with_metadata=with_metadata)
    loaded = load_model_folder(folder)
    assert loaded.spec.cache_layout is CacheLayout.LAYER_FIRST and loaded.spec.layout is ModelLayout.LAYER_FIRST
    for clip in ("speech_3s", "tone_noise_3s"):
        expected = _ids(FIXTURES / "models" / "tiny-c", clip, mode="B", lookahead_ms=240)
        assert _ids(folder, clip) == expected, clip


def test_layer_first_without_metadata_or_config_is_refused(work: Path) -> None:
    folder = layer_first_folder(work / "bare", with_config=False, with_metadata=False)
    with pytest.raises(ModelFolderError, match=r"no model_config.yaml.*no streaming metadata"):
        load_model_folder(folder)


def test_manifest_keeps_its_keys() -> None:
    spec = load_model_folder(FIXTURES / "models" / "tiny-c").spec
    assert spec.layout is ModelLayout.MANIFEST and spec.layout == "manifest"
    assert "joiner_file" not in spec_to_dict(spec)["decoders"]["rnnt"]


# ------------------------------------------------------------------------------------------- tokens.txt
def test_tokenizer_from_tokens_txt() -> None:
    table = TokenTable.parse("<unk> 0\n\u2581Hello 1\n, 2\n<en-US> 3\n\u2581world 4\n<blk> 5\n", Path("tokens.txt"))
    assert table.blank_id == 5
    tok = Tokenizer(table)
    assert tok.token_text(1) == " Hello" and tok.token_text(3) == "" and tok.is_language_tag(3)
    assert tok.decode([3, 1, 2, 4, 5]) == "Hello, world"
    assert tok.text_style() == (True, True)


# ------------------------------------------------------------------------------------------- errors
def _copy(work: Path, name: str, dst: str) -> Path:
    out = work / dst
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(pack(name, work), out)
    return out


def test_missing_tokens_txt(work: Path) -> None:
    folder = _copy(work, "tiny-c-240ms", "no-tokens")
    (folder / "tokens.txt").unlink()
    with pytest.raises(ModelFolderError, match=r"has no tokens\.txt") as err:
        load_model_folder(folder)
    assert "Copy tokens.txt from the same pack" in err.value.fix


def test_decoder_without_joiner(work: Path) -> None:
    folder = _copy(work, "tiny-c-240ms", "no-joiner")
    (folder / "joiner.onnx").unlink()
    with pytest.raises(ModelFolderError, match=r"joiner.onnx is missing \(a decoder graph without its joiner"):
        load_model_folder(folder)
    assert not inspect_model_folder(folder).usable


def test_metadata_without_window_size(work: Path) -> None:
    folder = _copy(work, "tiny-c-240ms", "no-window")
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(folder / "encoder.onnx")).metadata_props}
    del meta["window_size"]
    add_metadata(folder / "encoder.onnx", folder / "encoder.onnx", meta)
    with pytest.raises(ModelFolderError, match="no 'window_size' in its metadata") as err:
        load_model_folder(folder)
    assert "export" in err.value.fix


def test_inconsistent_metadata(work: Path) -> None:
    folder = _copy(work, "tiny-c-240ms", "bad-shift")
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(folder / "encoder.onnx")).metadata_props}
    meta["chunk_shift"] = "30"
    add_metadata(folder / "encoder.onnx", folder / "encoder.onnx", meta)
    with pytest.raises(ModelFolderError, match="metadata is inconsistent"):
        load_model_folder(folder)


@pytest.mark.parametrize(("text", "message"), [
    ("drop-blank", "does not end with the blank token <blk>"),
    ("blank-first", r"<blk> \(it is id 0, not the last\)"),
    ("short", "lists 80 tokens but encoder.onnx says vocab_size 80"),
])
def test_bad_tokens_txt(work: Path, text: str, message: str) -> None:
    folder = _copy(work, "tiny-c-240ms", f"tokens-{text}")
    lines = (folder / "tokens.txt").read_text(encoding="utf-8").splitlines()
    pieces = [line.rsplit(maxsplit=1)[0] for line in lines]
    if text == "drop-blank":
        pieces = [*pieces[:-1], "x"]
    elif text == "blank-first":
        pieces = [pieces[-1], *pieces[:-1]]
    else:
        pieces = [*pieces[:-2], pieces[-1]]
    (folder / "tokens.txt").write_text("".join(f"{p} {i}\n" for i, p in enumerate(pieces)), encoding="utf-8")
    with pytest.raises(ModelFolderError, match=message):
        load_model_folder(folder)
