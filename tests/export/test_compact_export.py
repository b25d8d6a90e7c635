"""Export compaction (``captioner.export.compact``): smaller graphs, bit-identical outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from captioner.asr.model_folder import load_model_folder
from captioner.asr.model_report import inspect_model_folder
from captioner.export.compact import max_step_window, shorten_value_names, trim_position_tables
from tests.conftest import FIXTURES, assert_same_tokens, clip, encoder_feeds

SOURCE = FIXTURES / "models" / "tiny-a"


def _table_rows(model: onnx.ModelProto) -> list[int]:
    """Row counts of the 3-D ``[1, odd, d]`` tensors: NeMo's relative-position tables."""
    tensors = [numpy_helper.to_array(i) for i in model.graph.initializer]
    tensors += [numpy_helper.to_array(n.attribute[0].t) for n in model.graph.node
                if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value"]
    return [t.shape[1] for t in tensors if t.ndim == 3 and t.shape[0] == 1 and t.shape[1] % 2 == 1]


def _compacted_copy(tmp_path: Path) -> Path:
    target = tmp_path / "compact"
    shutil.copytree(SOURCE, target)
    spec = load_model_folder(target).spec
    for s in spec.streaming:
        window = max_step_window(s.last_channel_cache_size, max(s.chunk_frames), s.pre_encode_cache_size,
                                 spec.encoder.subsampling_factor)
        for name in (s.encoder_file, s.first_chunk_encoder_file):
            assert name is not None
            model = onnx.load(str(target / name))
            (rows,) = _table_rows(model)  # the fixture keeps 256 positions (pos_emb_max_len), NeMo's default 5000
            assert rows > 2 * window - 1
            assert trim_position_tables(model, window) == 1
            assert _table_rows(model) == [2 * window - 1]
            assert shorten_value_names(model) > 100
            onnx.checker.check_model(model)
            onnx.save(model, str(target / name))
    return target


def test_trimmed_encoders_compute_exactly_the_same_outputs(tmp_path: Path) -> None:
    target = _compacted_copy(tmp_path)
    spec = load_model_folder(SOURCE).spec
    for s in spec.streaming:
        for name, frames in ((s.encoder_file, s.chunk_frames[1] + s.pre_encode_cache_size),
                             (s.first_chunk_encoder_file, s.chunk_frames[0])):
            assert name is not None
            before = ort.InferenceSession(str(SOURCE / name), providers=["CPUExecutionProvider"])
            after = ort.InferenceSession(str(target / name), providers=["CPUExecutionProvider"])
            feeds = encoder_feeds(spec, s, frames, seed=len(name) + frames)
            for a, b in zip(before.run(None, feeds), after.run(None, feeds), strict=True):
                np.testing.assert_array_equal(a, b)
            assert (target / name).stat().st_size < (SOURCE / name).stat().st_size


def test_trimmed_model_gives_the_same_tokens(tmp_path: Path) -> None:
    target = _compacted_copy(tmp_path)
    assert_same_tokens(SOURCE, target, clip("speech_8s"), load_model_folder(SOURCE).spec.lookaheads_ms())


def test_a_table_read_any_other_way_is_left_alone() -> None:
    spec = load_model_folder(SOURCE).spec
    name = spec.streaming[0].encoder_file
    model = onnx.load(str(SOURCE / name))
    (rows,) = _table_rows(model)
    centre = (rows + 1) // 2
    # Move the slice's centre: the pattern no longer proves which rows are read, so nothing is cut.
    moved = 0
    for node in model.graph.node:
        if node.op_type == "Constant" and numpy_helper.to_array(node.attribute[0].t).tolist() == centre:
            node.attribute[0].t.CopyFrom(numpy_helper.from_array(np.array(centre - 1, np.int64)))
            moved += 1
    assert moved == 2
    assert trim_position_tables(model, 64) == 0
    assert _table_rows(model) == [rows]


@pytest.mark.parametrize("extra", [0, 1000])
def test_a_window_as_wide_as_the_table_cuts_nothing(extra: int) -> None:
    model = onnx.load(str(SOURCE / load_model_folder(SOURCE).spec.streaming[0].encoder_file))
    (rows,) = _table_rows(model)
    assert trim_position_tables(model, (rows + 1) // 2 + extra) == 0
    assert _table_rows(model) == [rows]


def test_window_covers_a_step_and_the_inspect_probe_with_room() -> None:
    # demo model: 70 cached frames + max(16 frames a step, inspect's 66) = 136, doubled and rounded up
    assert max_step_window(70, 112, 9, 8) == 320
    # a long chunk (1009 feature frames, 127 encoder frames a step): the step decides
    assert max_step_window(70, 1000, 9, 8) == 448


def test_a_compacted_folder_passes_inspect(tmp_path: Path) -> None:
    """inspect runs each encoder on a long test window: the cut table must cover it (tiny-a: left context 28)."""
    target = _compacted_copy(tmp_path)
    report = inspect_model_folder(target)
    assert report.usable, report.message
