"""``captioner import``: a ``.nemo`` becomes a model folder with numpy and onnx only, token-identical to NeMo.

Every model fixture that has a ``.nemo`` is imported once (no NeMo or torch here) and replayed against
NeMo's committed streaming references: every clip, lookahead, mode, decoder and language. Its encoder
graphs are also compared with the ``captioner export`` folder of the same model, step inputs fed to both.
"""

from __future__ import annotations

import io
import tarfile
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import yaml

from captioner.asr.manifest import MANIFEST_NAME
from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import StreamingRecognizer, transcribe_samples
from captioner.asr.spec import AttentionCache
from captioner.cli.main import main as cli_main
from captioner.nemo_import.architecture import NemoImportError
from captioner.nemo_import.importer import ImportCancelledError, ImportProgress, import_nemo
from tests.conftest import FIXTURES, cases_index, clip, encoder_feeds, reference

MODELS = cases_index()["models"]
IMPORTABLE = sorted(name for name, info in MODELS.items() if info.get("nemo"))
CASES = [c for c in cases_index()["cases"] if c["model"] in IMPORTABLE]
TINY_A_NEMO = FIXTURES / "seed" / "tiny-a" / "tiny-a.nemo"


def nemo_file(model: str) -> Path:
    return FIXTURES / MODELS[model]["nemo"]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("imported")
    return {name: _import(name, root / name) for name in IMPORTABLE}


@pytest.fixture(scope="module")
def imported_plain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same models with NeMo's attention cache (layer inputs), for comparison with NeMo's own export."""
    root = tmp_path_factory.mktemp("imported-plain")
    return {name: _import(name, root / name, AttentionCache.LAYER_INPUTS) for name in IMPORTABLE}


def _import(name: str, out: Path, attention_cache: AttentionCache = AttentionCache.PROJECTED_KV) -> Path:
    import_nemo(nemo_file(name), out, name=name, attention_cache=attention_cache)
    return out


@cache
def _recognizer(folder: str, lookahead_ms: int, mode: str, decoder: str, language: str | None
                ) -> StreamingRecognizer:
    return StreamingRecognizer(load_model_folder(folder), decoder=decoder, lookahead_ms=lookahead_ms, mode=mode,
                               provider="cpu", language=language)


def test_every_family_is_covered() -> None:
    assert "tiny-a" in IMPORTABLE
    assert len(CASES) >= 80


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_imported_tokens_identical_to_nemo(case: dict[str, Any], imported: dict[str, Path]) -> None:
    rec = _recognizer(str(imported[case["model"]]), case["lookahead_ms"], case["mode"], case["decoder"],
                      case.get("locale"))
    rec.reset()
    tokens = transcribe_samples(rec, clip(case["clip"]), block=1000)
    ref = reference(case["npz"])
    assert [t.id for t in tokens] == ref[case["ids_key"]].tolist()
    assert [t.frame for t in tokens] == ref[case["frames_key"]].tolist()


@pytest.mark.parametrize("model", [m for m in IMPORTABLE if (FIXTURES / "models" / m).is_dir()])
def test_encoder_outputs_equal_the_export(model: str, imported_plain: dict[str, Path]) -> None:
    """The same step inputs through the imported and the exported graph: equal within float32 rounding."""
    exported = load_model_folder(FIXTURES / "models" / model)
    ours = load_model_folder(imported_plain[model])
    assert ours.spec.lookaheads_ms() == exported.spec.lookaheads_ms()
    for mine, theirs in zip(ours.spec.streaming, exported.spec.streaming, strict=True):
        assert (mine.chunk_frames, mine.valid_out_len, mine.drop_extra_pre_encoded) == (
            theirs.chunk_frames, theirs.valid_out_len, theirs.drop_extra_pre_encoded)
        for file_a, file_b, width in ((mine.encoder_file, theirs.encoder_file,
                                       mine.chunk_frames[1] + mine.pre_encode_cache_size),
                                      (mine.first_chunk_encoder_file, theirs.first_chunk_encoder_file,
                                       mine.chunk_frames[0])):
            assert file_a and file_b
            feeds = encoder_feeds(ours.spec, mine, width, seed=width)
            if ours.spec.prompt is not None:
                feeds["prompt_index"] = np.array([ours.spec.prompt.index(None)], np.int64)
            a = ort.InferenceSession(str(ours.file(file_a)), providers=["CPUExecutionProvider"]).run(None, feeds)
            b = ort.InferenceSession(str(exported.file(file_b)), providers=["CPUExecutionProvider"]).run(None, feeds)
            for got, want in zip(a, b, strict=True):
                assert got.shape == want.shape
                scale = max(1.0, float(np.max(np.abs(want))))
                np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * scale)


def test_import_writes_the_export_layout(imported: dict[str, Path]) -> None:
    folder = imported["tiny-a"]
    names = sorted(p.name for p in folder.iterdir())
    assert MANIFEST_NAME in names and "weights.bin" in names and "tokenizer.model" in names
    assert {"decoder_joint.onnx", "ctc_head.onnx", "encoder-la80.onnx", "encoder-la80-first.onnx"} <= set(names)
    spec = load_model_folder(folder).spec
    assert spec.lookaheads_ms() == [1040, 480, 80, 0]
    assert spec.decoders() == ["rnnt", "ctc"]
    graphs_bytes = sum(p.stat().st_size for p in folder.glob("*.onnx"))
    assert graphs_bytes < (folder / "weights.bin").stat().st_size, "weights live once, in weights.bin"


@pytest.mark.parametrize("cache", list(AttentionCache))
def test_half_weights_import(tmp_path: Path, imported: dict[str, Path], imported_plain: dict[str, Path],
                             cache: AttentionCache) -> None:
    full = (imported if cache is AttentionCache.PROJECTED_KV else imported_plain)["tiny-a"]
    half = tmp_path / "half"
    spec = import_nemo(TINY_A_NEMO, half, weights="float16", lookaheads_ms=[80], attention_cache=cache)
    assert spec.quantization == "float16-weights"
    if cache is AttentionCache.LAYER_INPUTS:  # only parameters: half the bytes (the streaming graph adds float32
        full_size = (full / "weights.bin").stat().st_size  # position tables, large beside a tiny model)
        assert (half / "weights.bin").stat().st_size < 0.55 * full_size
    feeds = encoder_feeds(spec, spec.streaming[0], 25, seed=3)
    a = ort.InferenceSession(str(half / "encoder-la80.onnx"), providers=["CPUExecutionProvider"]).run(None, feeds)
    b = ort.InferenceSession(str(full / "encoder-la80.onnx"), providers=["CPUExecutionProvider"]).run(None, feeds)
    assert not np.array_equal(a[0], b[0]), "the weights were rounded"
    np.testing.assert_allclose(a[0], b[0], atol=0.05 * float(np.max(np.abs(b[0]))))


def test_selected_lookaheads_only(tmp_path: Path) -> None:
    spec = import_nemo(TINY_A_NEMO, tmp_path / "m", lookaheads_ms=[480, 0])
    assert spec.lookaheads_ms() == [480, 0]
    assert not (tmp_path / "m" / "encoder-la80.onnx").exists()


def test_unknown_lookahead_is_refused_and_nothing_written(tmp_path: Path) -> None:
    with pytest.raises(NemoImportError, match=r"not trained with a 160 ms lookahead.*1040 ms"):
        import_nemo(TINY_A_NEMO, tmp_path / "m", lookaheads_ms=[160])
    assert list(tmp_path.iterdir()) == []


def test_cancel_leaves_nothing(tmp_path: Path) -> None:
    seen: list[ImportProgress] = []

    def cancel_after_three() -> bool:
        return len(seen) >= 3

    with pytest.raises(ImportCancelledError):
        import_nemo(TINY_A_NEMO, tmp_path / "m", progress=seen.append, cancelled=cancel_after_three)
    assert list(tmp_path.iterdir()) == []
    assert [p.step for p in seen] == [1, 2, 3] and seen[0].steps == 11


def test_target_must_be_new_or_empty(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "notes.txt").write_text("mine")
    with pytest.raises(NemoImportError, match="not an empty folder"):
        import_nemo(TINY_A_NEMO, tmp_path / "m")
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["notes.txt"]
    (tmp_path / "empty").mkdir()
    import_nemo(TINY_A_NEMO, tmp_path / "empty", lookaheads_ms=[0])
    assert (tmp_path / "empty" / MANIFEST_NAME).is_file()


def _with_config(tmp_path: Path, change: Any) -> Path:
    """A copy of tiny-a.nemo whose model_config.yaml went through ``change(config_dict)``."""
    out = tmp_path / "changed.nemo"
    with tarfile.open(TINY_A_NEMO) as source, tarfile.open(out, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.endswith("model_config.yaml"):
                config = yaml.safe_load(data)
                change(config)
                data = yaml.safe_dump(config).encode()
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))
    return out


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["encoder"].update(att_context_style="regular"), "att_context_style.*chunked_limited"),
    (lambda c: c["encoder"].update(subsampling="striding"), "subsampling.*dw_striding"),
    (lambda c: c.update(target="nemo.collections.asr.models.EncDecCTCModel"), "EncDecCTCModel"),
    (lambda c: c["encoder"].update(d_model=80), "shape"),
    (lambda c: c["encoder"].update(n_layers=3), "no tensor 'encoder.layers.2"),
])
def test_unsupported_or_inconsistent_models_are_refused(tmp_path: Path, change: Any, message: str) -> None:
    nemo = _with_config(tmp_path, change)
    with pytest.raises(NemoImportError, match=message):
        import_nemo(nemo, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["changed.nemo"]


def test_cli_import_then_inspect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model"
    assert cli_main(["import", str(TINY_A_NEMO), str(out), "--lookahead-ms", "80"]) == 0
    printed = capsys.readouterr()
    assert "Imported tiny-a" in printed.out and "[1/5] Reading the weights" in printed.err
    assert cli_main(["inspect", str(out)]) == 0
    assert cli_main(["import", str(TINY_A_NEMO), str(out)]) == 1
    assert "not an empty folder" in capsys.readouterr().err


def _hand_made_export(name: str, out: Path) -> Path:
    """The layout of NeMo's own ``model.export``: one encoder without the prompt + decoder_joint, .nemo beside.

    NeMo leaves ``prompt_kernel`` out of its export; the graphs here are built the same way (the importer's
    encoder with no prompt, at the model's default lookahead), so the prompt must come from the .nemo.
    """
    from onnx import save

    from captioner.asr.nemo_archive import NemoArchive
    from captioner.asr.nemo_config import streaming_spec_for
    from captioner.asr.torch_checkpoint import read_state_dict
    from captioner.export.compact import max_step_window
    from captioner.nemo_import.architecture import read_architecture
    from captioner.nemo_import.checkpoint_weights import StateDict
    from captioner.nemo_import.decoder_graphs import build_decoder_joint
    from captioner.nemo_import.encoder_graph import EncoderGraph, relative_position_table
    from captioner.nemo_import.graph_builder import GraphBuilder
    from captioner.nemo_import.weights_file import WeightsFile

    out.mkdir()
    with NemoArchive(nemo_file(name)) as archive:
        config, state = archive.config(), StateDict(read_state_dict(archive))
    arch = read_architecture(config)
    att = arch.encoder.att_context_sizes[0]
    spec = streaming_spec_for(config, att, encoder_file=f"encoder-{name}.onnx")
    table = relative_position_table(arch.encoder.d_model, max_step_window(
        spec.last_channel_cache_size, max(spec.chunk_frames), spec.pre_encode_cache_size, 8))
    assert arch.rnnt is not None
    with WeightsFile(out, "weights.bin") as pool:
        graph = EncoderGraph(arch.encoder, state, GraphBuilder(pool), att_context=att,
                             drop_extra_pre_encoded=spec.drop_extra_pre_encoded, valid_out_len=spec.valid_out_len,
                             position_table=table)
        save(graph.build(name), str(out / spec.encoder_file))
        save(build_decoder_joint(arch.rnnt, arch.encoder.d_model, state, GraphBuilder(pool)),
             str(out / f"decoder_joint-{name}.onnx"))
    (out / f"{name}.nemo").write_bytes(nemo_file(name).read_bytes())
    return out


def test_prompt_of_a_hand_made_export_comes_from_the_nemo(tmp_path: Path) -> None:
    """A prompt model exported without its prompt_kernel streams NeMo's tokens once the .nemo sits beside it."""
    if "tiny-d" not in IMPORTABLE:
        pytest.fail("the language-prompt fixture tiny-d is missing")
    folder = load_model_folder(_hand_made_export("tiny-d", tmp_path / "export"))
    assert folder.spec.layout == "nemo-export" and folder.prompt_kernel is not None
    assert folder.spec.prompt is not None and set(folder.spec.prompt.dictionary) >= {"en-US", "de-DE", "auto"}
    lookahead = folder.spec.lookaheads_ms()[0]
    cases = [c for c in CASES if c["model"] == "tiny-d" and c["mode"] == "B" and c["lookahead_ms"] == lookahead]
    assert len({c["locale"] for c in cases}) >= 2
    for case in cases:
        rec = StreamingRecognizer(folder, decoder="rnnt", mode="B", provider="cpu", language=case["locale"])
        tokens = transcribe_samples(rec, clip(case["clip"]), block=1000)
        ref = reference(case["npz"])
        assert [t.id for t in tokens] == ref[case["ids_key"]].tolist(), case["id"]
    from captioner.asr.errors import ModelFolderError
    from captioner.asr.nemo_archive import NemoArchive

    with NemoArchive(tmp_path / "export" / "tiny-d.nemo") as archive:  # the loose layout: config + tokenizer only
        config = archive.open_member("model_config.yaml").read()
        (tmp_path / "export" / "tokenizer.model").write_bytes(archive.tokenizer())
    (tmp_path / "export" / "model_config.yaml").write_bytes(config)
    (tmp_path / "export" / "tiny-d.nemo").unlink()
    with pytest.raises(ModelFolderError, match=r"no \.nemo to read it from"):
        load_model_folder(tmp_path / "export")


def test_inspect_names_family_languages_and_text_style(imported: dict[str, Path]) -> None:
    from captioner.asr.model_report import inspect_model_folder

    hybrid = inspect_model_folder(imported["tiny-a"]).to_json()
    assert hybrid["family"] == "hybrid RNNT + CTC" and hybrid["languages"] is None
    assert hybrid["cased"] is False and hybrid["punctuated"] is False
    rnnt = inspect_model_folder(imported["tiny-c"])
    assert rnnt.usable, rnnt.message
    data = rnnt.to_json()
    assert data["family"] == "RNNT" and data["n_mels"] == 128 and data["decoders"] == ["rnnt"]
    assert data["cased"] is True and data["punctuated"] is True
    prompted = inspect_model_folder(imported["tiny-d"])
    assert prompted.usable, prompted.message
    data = prompted.to_json()
    assert data["family"] == "RNNT with a language prompt" and data["default_language"] == "auto"
    assert set(data["languages"]) == set(MODELS["tiny-d"]["prompt"]["dictionary"])
    text = prompted.to_text()
    assert "Languages: auto, de-DE, en-US, fr-FR (default auto; choose with --language)" in text
    assert "Lookahead 240 ms (chunk 320 ms)" in text


def test_language_tags_are_never_caption_text(imported: dict[str, Path]) -> None:
    from captioner.asr.tokenizer import Tokenizer

    tokenizer = Tokenizer(load_model_folder(imported["tiny-d"]).tokenizer_model)
    tags = MODELS["tiny-d"]["language_tags"]
    assert tags
    for piece, token_id in tags.items():
        assert tokenizer.token_text(token_id) == "" and tokenizer.is_language_tag(token_id), piece
    word = tokenizer.encode("hello")
    assert tokenizer.decode([tags["<de-DE>"], *word]) == tokenizer.decode(word)


def test_unknown_language_is_refused(imported: dict[str, Path]) -> None:
    from captioner.errors import CaptionerError

    folder = load_model_folder(imported["tiny-d"])
    with pytest.raises(CaptionerError, match=r"no language 'xx-XX'; it knows auto, de-DE, en-US, fr-FR"):
        StreamingRecognizer(folder, provider="cpu", language="xx-XX")
    with pytest.raises(CaptionerError, match="has no language setting"):
        StreamingRecognizer(load_model_folder(imported["tiny-a"]), provider="cpu", language="en-US")


@pytest.mark.parametrize("model", IMPORTABLE)
def test_streaming_graph_equals_nemos_layout_step_by_step(model: str, imported: dict[str, Path],
                                                          imported_plain: dict[str, Path]) -> None:
    """Projected key/value caches give the encoder outputs of NeMo's input caches, step after step of real speech."""
    from captioner.asr.features import compute_features

    fast, plain = load_model_folder(imported[model]), load_model_folder(imported_plain[model])
    assert fast.spec.attention_cache is AttentionCache.PROJECTED_KV
    assert plain.spec.attention_cache is AttentionCache.LAYER_INPUTS
    features = compute_features(clip("speech_8s"), fast.spec.preprocessor)
    enc = fast.spec.encoder
    for streaming in fast.spec.streaming:
        sessions = [ort.InferenceSession(str(f.file(streaming.encoder_file)), providers=["CPUExecutionProvider"])
                    for f in (fast, plain)]
        caches = [[np.zeros((1, enc.n_layers, streaming.last_channel_cache_size, width), np.float32),
                   np.zeros((1, enc.n_layers, enc.d_model, enc.conv_cache_size), np.float32), np.zeros(1, np.int64)]
                  for width in (2 * enc.d_model, enc.d_model)]
        extra = {"prompt_index": np.array([fast.spec.prompt.index(None)], np.int64)} if fast.spec.prompt else {}
        pre, shift = streaming.pre_encode_cache_size, streaming.shift_frames[1]
        padded = np.concatenate([np.zeros((features.shape[0], pre), np.float32), features], axis=1)
        steps = 0
        for start in range(0, features.shape[1] - streaming.chunk_frames[1], shift):
            window = padded[None, :, start:start + pre + streaming.chunk_frames[1]]
            results = []
            for session, state in zip(sessions, caches, strict=True):
                out = session.run(None, {"audio_signal": np.ascontiguousarray(window),
                                         "length": np.array([window.shape[2]], np.int64),
                                         "cache_last_channel": state[0], "cache_last_time": state[1],
                                         "cache_last_channel_len": state[2], **extra})
                state[:] = out[2:]
                results.append(out[0])
            scale = max(1.0, float(np.max(np.abs(results[1]))))
            np.testing.assert_allclose(results[0], results[1], rtol=0, atol=5e-5 * scale)
            steps += 1
        assert steps >= 5


@pytest.mark.parametrize("model", IMPORTABLE)
def test_the_streaming_graph_does_less_per_step(model: str, imported: dict[str, Path],
                                                imported_plain: dict[str, Path]) -> None:
    """One query/key/value projection per layer, the depthwise convolution as taps, the shift as one gather
    (the step-by-step test above proves the numbers equal NeMo's layout)."""
    from collections import Counter

    import onnx

    fast, plain = load_model_folder(imported[model]), load_model_folder(imported_plain[model])
    layers = fast.spec.encoder.n_layers
    for streaming in fast.spec.streaming:
        graphs = [onnx.load(str(f.file(streaming.encoder_file)), load_external_data=False).graph
                  for f in (fast, plain)]
        ops = [Counter(node.op_type for node in g.node) for g in graphs]
        assert ops[0]["GatherElements"] == layers and ops[0]["Pad"] == 0 < ops[1]["Pad"]
        assert ops[0]["Conv"] == ops[1]["Conv"] - layers  # only the subsampling's convolutions are left
        assert sum(i.name.startswith("encoder.layers.") and ".linear_qkv.weight.T" in i.name
                   for i in graphs[0].initializer) == layers


def test_a_failing_disk_says_so_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write the disk refuses (here: ENOSPC from the weights file) is a clear error, and no folder is left."""
    import errno

    from captioner.nemo_import import weights_file

    real_open = open

    def full_disk_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith("weights.bin") and "w" in mode:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(weights_file, "open", full_disk_open, raising=False)
    with pytest.raises(NemoImportError, match=r"No space left on device.*nothing was kept"):
        import_nemo(TINY_A_NEMO, tmp_path / "m")
    assert list(tmp_path.iterdir()) == []
