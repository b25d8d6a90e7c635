"""``captioner import``: a ``.nemo`` checkpoint to a Captioner model folder, with numpy and onnx only.

The folder is the one ``captioner export`` writes (manifest, one encoder graph per lookahead plus its
first-chunk graph, ``decoder_joint.onnx``, ``ctc_head.onnx`` when the model has a CTC head, the
tokenizer and one shared ``weights.bin``), so everything downstream treats both the same. It is built in
a hidden folder beside the target and renamed into place only when complete: a refused, failed or
cancelled import leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sentencepiece as spm

from captioner.asr.manifest import write_manifest
from captioner.asr.nemo_archive import NemoArchive
from captioner.asr.nemo_config import encoder_spec, preprocessor_spec, prompt_spec, streaming_spec_for
from captioner.asr.spec import AttentionCache, CtcSpec, ModelFamily, ModelSpec, RnntSpec, StreamingSpec
from captioner.asr.torch_checkpoint import read_state_dict
from captioner.export.compact import max_step_window
from captioner.nemo_import.architecture import Architecture, NemoImportError, read_architecture
from captioner.nemo_import.checkpoint_weights import StateDict
from captioner.nemo_import.decoder_graphs import build_ctc_head, build_decoder_joint
from captioner.nemo_import.encoder_graph import EncoderGraph, relative_position_table
from captioner.nemo_import.graph_builder import GraphBuilder
from captioner.nemo_import.weights_file import WEIGHTS_FILE, WeightsFile

WEIGHT_PRECISIONS = ("float32", "float16")
HALF_WEIGHTS_SCHEME = "float16-weights"


class ImportCancelledError(NemoImportError):
    """The user cancelled the import; nothing was written."""


@dataclass(frozen=True)
class ImportProgress:
    """What the import is doing: ``step`` of ``steps`` (reading the weights counts as the first)."""

    stage: str
    step: int
    steps: int


ProgressCallback = Callable[[ImportProgress], None]
CancelCheck = Callable[[], bool]


def lookahead_ms(att: tuple[int, int], subsampling_factor: int, frame_ms: float) -> int:
    return round(att[1] * subsampling_factor * frame_ms)


def _select(arch: Architecture, wanted_ms: list[int] | None, frame_ms: float) -> list[tuple[int, int]]:
    factor = arch.encoder.subsampling_factor
    by_ms = {lookahead_ms(att, factor, frame_ms): att for att in arch.encoder.att_context_sizes}
    if not wanted_ms:
        return list(arch.encoder.att_context_sizes)
    chosen: list[tuple[int, int]] = []
    for ms in wanted_ms:
        if ms not in by_ms:
            available = ", ".join(f"{m} ms" for m in by_ms)
            raise NemoImportError(f"This model was not trained with a {ms} ms lookahead; it supports {available}.")
        if by_ms[ms] not in chosen:
            chosen.append(by_ms[ms])
    return chosen


def _prepare_target(out_dir: Path) -> Path:
    """A fresh hidden folder beside ``out_dir``, which must not exist yet or be empty."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise NemoImportError(f"{out_dir} already exists and is not an empty folder; choose a new folder.")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.importing-", dir=out_dir.parent))


def import_nemo(nemo_path: Path | str, out_dir: Path | str, *, lookaheads_ms: list[int] | None = None,
                weights: str = "float32", name: str | None = None, progress: ProgressCallback | None = None,
                cancelled: CancelCheck | None = None,
                attention_cache: AttentionCache = AttentionCache.PROJECTED_KV) -> ModelSpec:
    """Convert ``nemo_path`` into a model folder at ``out_dir``; returns its spec.

    ``attention_cache``: the streaming graph that caches projected keys and values (the default), or NeMo's
    layout that caches the attention inputs (the same numbers, more work per step).
    """
    if weights not in WEIGHT_PRECISIONS:
        raise NemoImportError(f"--weights must be {' or '.join(WEIGHT_PRECISIONS)}, not {weights!r}.")
    source = Path(nemo_path)
    target = Path(out_dir)
    if not source.is_file():
        raise NemoImportError(f"{source} does not exist or is not a file; pass the path of a .nemo checkpoint.")
    with NemoArchive(source) as archive:
        config = archive.config()
        arch = read_architecture(config)
        tokenizer = archive.tokenizer()
        _check_vocabulary(tokenizer, arch, source)
        preprocessor = preprocessor_spec(config)
        atts = _select(arch, lookaheads_ms, preprocessor.frame_ms)
        steps = 1 + 2 * len(atts) + (arch.rnnt is not None) + (arch.ctc_classes is not None)
        report = _Reporter(steps, progress, cancelled)
        staging = _prepare_target(target)
        try:
            report("Reading the weights")
            state = StateDict(read_state_dict(archive))
            spec = _write_folder(staging, config, arch, state, atts, tokenizer, weights == "float16", report,
                                 name=name or source.stem, source=source.name, attention_cache=attention_cache)
            if target.exists():
                target.rmdir()  # checked empty above; the finished folder takes its place
            os.replace(staging, target)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise NemoImportError(f"Writing the model to {target.parent} failed ({exc.strerror or exc}); nothing "
                                  "was kept. Free some disk space or choose another folder, then import again."
                                  ) from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return spec


class _Reporter:
    def __init__(self, steps: int, progress: ProgressCallback | None, cancelled: CancelCheck | None) -> None:
        self.steps, self.step = steps, 0
        self._progress, self._cancelled = progress, cancelled

    def __call__(self, stage: str) -> None:
        if self._cancelled is not None and self._cancelled():
            raise ImportCancelledError("The import was cancelled; nothing was written.")
        self.step += 1
        if self._progress is not None:
            self._progress(ImportProgress(stage, self.step, self.steps))


def _check_vocabulary(tokenizer: bytes, arch: Architecture, source: Path) -> None:
    try:
        size = int(spm.SentencePieceProcessor(model_proto=tokenizer).get_piece_size())
    except Exception as exc:  # sentencepiece raises several types for a bad proto
        raise NemoImportError(f"The tokenizer inside {source} is not a readable SentencePiece model ({exc}).") from exc
    expected = arch.rnnt.vocab_size if arch.rnnt else arch.ctc_classes
    if expected is not None and size != expected:
        raise NemoImportError(f"The tokenizer inside {source} has {size} tokens but the model's output layer has "
                              f"{expected} (+1 blank): the archive is inconsistent.")


def _write_folder(folder: Path, config: dict[str, Any], arch: Architecture, state: StateDict,
                  atts: list[tuple[int, int]], tokenizer: bytes, half: bool, report: _Reporter, *, name: str,
                  source: str, attention_cache: AttentionCache = AttentionCache.PROJECTED_KV) -> ModelSpec:
    from onnx import save

    enc = arch.encoder
    preprocessor = preprocessor_spec(config)
    streaming: list[StreamingSpec] = []
    specs = []
    for att in atts:
        ms = lookahead_ms(att, enc.subsampling_factor, preprocessor.frame_ms)
        spec = streaming_spec_for(config, att, encoder_file=f"encoder-la{ms}.onnx")
        specs.append((att, ms, spec))
    longest = max(max_step_window(s.last_channel_cache_size, max(s.chunk_frames), s.pre_encode_cache_size,
                                  enc.subsampling_factor) for _, _, s in specs)
    table = relative_position_table(enc.d_model, longest)
    with WeightsFile(folder, half=half) as pool:
        for att, ms, spec in specs:
            first_file = f"encoder-la{ms}-first.onnx"
            for file_name, drop in ((spec.encoder_file, spec.drop_extra_pre_encoded), (first_file, 0)):
                report(f"Building the {ms} ms encoder" + (" (first chunk)" if drop == 0 else ""))
                graph = EncoderGraph(enc, state, GraphBuilder(pool), att_context=att, drop_extra_pre_encoded=drop,
                                     valid_out_len=spec.valid_out_len, position_table=table, prompt=arch.prompt,
                                     projected_cache=attention_cache is AttentionCache.PROJECTED_KV)
                save(graph.build(file_name.removesuffix(".onnx")), str(folder / file_name))
            streaming.append(replace(spec, first_chunk_encoder_file=first_file))
        rnnt_spec = ctc_spec = None
        if arch.rnnt is not None:
            report("Building the RNNT decoder")
            save(build_decoder_joint(arch.rnnt, enc.d_model, state, GraphBuilder(pool)),
                 str(folder / "decoder_joint.onnx"))
            rnnt_spec = RnntSpec("decoder_joint.onnx", arch.rnnt.pred_hidden, arch.rnnt.pred_layers,
                                 arch.rnnt.max_symbols)
        if arch.ctc_classes is not None:
            report("Building the CTC head")
            prefix = "ctc_decoder" if arch.family is ModelFamily.HYBRID else "decoder"
            save(build_ctc_head(prefix, arch.ctc_classes, enc.d_model, state, GraphBuilder(pool)),
                 str(folder / "ctc_head.onnx"))
            ctc_spec = CtcSpec(head_file="ctc_head.onnx")
    (folder / "tokenizer.model").write_bytes(tokenizer)
    vocab = arch.rnnt.vocab_size if arch.rnnt else int(arch.ctc_classes or 0)
    model_spec = ModelSpec(
        name=name,
        preprocessor=preprocessor,
        encoder=encoder_spec(config),
        streaming=tuple(streaming),
        vocab_size=vocab,
        blank_id=vocab,
        tokenizer_file="tokenizer.model",
        rnnt=rnnt_spec,
        ctc=ctc_spec,
        source=source,
        weights_file=WEIGHTS_FILE,
        quantization=HALF_WEIGHTS_SCHEME if half else None,
        prompt=prompt_spec(config),
        attention_cache=attention_cache,
    )
    write_manifest(model_spec, folder)
    return model_spec
