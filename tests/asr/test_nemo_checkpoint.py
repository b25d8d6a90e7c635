"""``read_state_dict``: torch checkpoints become numpy arrays, and a pickle that would run code is refused unrun.

CI has no torch, so the checkpoints are written here opcode by opcode (:func:`dumps`) in ``torch.save``'s zip
layout (:func:`torch_zip`); the committed references in ``tests/fixtures/checkpoint`` were made by torch itself.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import pickle
import struct
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from captioner.asr.errors import NemoArchiveError
from captioner.asr.nemo_archive import NemoArchive
from captioner.asr.torch_checkpoint import load_torch_zip, read_state_dict
from tests.asr.test_nemo_archive import TINY_A, make_nemo, write_tar
from tests.conftest import FIXTURES

REFERENCE = FIXTURES / "checkpoint"


@dataclass(frozen=True)
class Global:
    """``module.name`` as a pickle names it (GLOBAL); never imported here."""

    module: str
    name: str


@dataclass(frozen=True)
class Call:
    """``function(*args)`` (REDUCE)."""

    function: object
    args: tuple[object, ...] = ()


@dataclass(frozen=True)
class Filled:
    """``target`` given ``items`` (SETITEMS), as a pickle fills an OrderedDict."""

    target: object
    items: dict[object, object]


@dataclass(frozen=True)
class Build:
    """``target`` given ``state`` (BUILD): ``__setstate__`` or attribute assignment."""

    target: object
    state: object


@dataclass(frozen=True)
class Persistent:
    """A persistent id (BINPERSID), which is how torch.save refers to a storage."""

    pid: object


@dataclass(frozen=True)
class Put:
    """``value``, remembered under ``index`` (BINPUT)."""

    index: int
    value: object


@dataclass(frozen=True)
class Get:
    """The value remembered under ``index`` (BINGET): the same object again."""

    index: int


def dumps(obj: object) -> bytes:
    """A protocol-2 pickle of plain values and the nodes above."""
    out = io.BytesIO()
    out.write(pickle.PROTO + b"\x02")
    _emit(obj, out)
    out.write(pickle.STOP)
    return out.getvalue()


def _emit(obj: object, out: io.BytesIO) -> None:
    if isinstance(obj, Global):
        out.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
    elif isinstance(obj, Call):
        _emit(obj.function, out)
        _emit(obj.args, out)
        out.write(pickle.REDUCE)
    elif isinstance(obj, Filled | dict):
        if isinstance(obj, Filled):
            _emit(obj.target, out)
        else:
            out.write(pickle.EMPTY_DICT)
        out.write(pickle.MARK)
        for key, value in (obj.items if isinstance(obj, Filled) else obj).items():
            _emit(key, out)
            _emit(value, out)
        out.write(pickle.SETITEMS)
    elif isinstance(obj, Build):
        _emit(obj.target, out)
        _emit(obj.state, out)
        out.write(pickle.BUILD)
    elif isinstance(obj, Persistent):
        _emit(obj.pid, out)
        out.write(pickle.BINPERSID)
    elif isinstance(obj, Put):
        _emit(obj.value, out)
        out.write(pickle.BINPUT + bytes([obj.index]))
    elif isinstance(obj, Get):
        out.write(pickle.BINGET + bytes([obj.index]))
    elif obj is None:
        out.write(pickle.NONE)
    elif isinstance(obj, bool):
        out.write(pickle.NEWTRUE if obj else pickle.NEWFALSE)
    elif isinstance(obj, int):
        out.write(pickle.INT + str(obj).encode() + b"\n")
    elif isinstance(obj, float):
        out.write(pickle.BINFLOAT + struct.pack(">d", obj))
    elif isinstance(obj, str | bytes):
        data = obj.encode() if isinstance(obj, str) else obj
        opcode = pickle.BINUNICODE if isinstance(obj, str) else pickle.BINBYTES
        out.write(opcode + struct.pack("<I", len(data)) + data)
    elif isinstance(obj, tuple | list):
        out.write(pickle.MARK)
        for item in obj:
            _emit(item, out)
        out.write(pickle.TUPLE if isinstance(obj, tuple) else pickle.LIST)
    else:
        raise TypeError(type(obj))


ORDERED_DICT = Global("collections", "OrderedDict")
REBUILD_V2 = Global("torch._utils", "_rebuild_tensor_v2")
REBUILD_V3 = Global("torch._utils", "_rebuild_tensor_v3")
PARAMETER = Global("torch._utils", "_rebuild_parameter")
PARAMETER_WITH_STATE = Global("torch._utils", "_rebuild_parameter_with_state")


def storage(kind: str, key: str, numel: int, module: str = "torch") -> Persistent:
    return Persistent(("storage", Global(module, kind), key, "cpu", numel))


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(np.prod(shape[i + 1:])) for i in range(len(shape)))


def tensor(store: object, shape: object, stride: object = None, offset: object = 0, *, hooks: object = None,
           extra: tuple[object, ...] = ()) -> Call:
    """``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks, *extra)``."""
    if stride is None:
        assert isinstance(shape, tuple)
        stride = contiguous_strides(shape)
    return Call(REBUILD_V2, (store, offset, shape, stride, False, Call(ORDERED_DICT) if hooks is None else hooks,
                             *extra))


def state_dict(items: dict[object, object]) -> Build:
    """A module's state dict as torch pickles it: an OrderedDict filled, then given its ``_metadata``."""
    metadata = Filled(Call(ORDERED_DICT), {"": {"version": 1}, "encoder": {"version": 1}})
    return Build(Filled(Call(ORDERED_DICT), items), {"_metadata": metadata})


def torch_zip(pickled: bytes, storages: dict[str, bytes], *, prefix: str = "archive",
              byteorder: bytes | None = b"little", compression: int = zipfile.ZIP_STORED) -> bytes:
    """``torch.save``'s layout: data.pkl, byteorder, data/<key> with 64-byte aligned data, version."""
    entries = [(f"{prefix}/data.pkl", pickled)]
    if byteorder is not None:
        entries.append((f"{prefix}/byteorder", byteorder))
    entries += [(f"{prefix}/data/{key}", data) for key, data in storages.items()]
    entries.append((f"{prefix}/version", b"3\n"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = compression if "/data/" in name else zipfile.ZIP_STORED
            padding = -(buffer.tell() + 30 + len(name) + 4) % 64
            info.extra = struct.pack("<HH", 0x4246, padding) + b"Z" * padding
            archive.writestr(info, data)
    return buffer.getvalue()


def bfloat16_bytes(values: np.ndarray, order: str = "<") -> bytes:
    """bfloat16 is the top half of a float32."""
    return (values.astype("<f4").view("<u4") >> 16).astype(f"{order}u2").tobytes()


VALUES = np.arange(-12, 12, dtype=np.float32).reshape(2, 3, 4) / 4
BASE = np.arange(24, dtype=np.float32).reshape(4, 6) / 8


def crafted(order: str = "<") -> tuple[dict[str, bytes], object, dict[str, np.ndarray]]:
    """Storages, pickle tree and expected arrays of a checkpoint using every dtype and kind of view."""
    ints = np.arange(-3, 3)
    storages = {
        "0": VALUES.astype(f"{order}f4").tobytes(),
        "1": VALUES.astype(f"{order}f2").tobytes(),
        "2": bfloat16_bytes(VALUES, order),
        "3": VALUES.astype(f"{order}f8").tobytes(),
        "4": (ints * 2**40).astype(f"{order}i8").tobytes(),
        "5": (ints * 2**20).astype(f"{order}i4").tobytes(),
        "6": (ints * 2**10).astype(f"{order}i2").tobytes(),
        "7": ints.astype("i1").tobytes(),
        "8": np.arange(250, 256, dtype=np.uint8).tobytes(),
        "9": bytes([1, 0, 2]),
        "10": np.arange(65530, 65536).astype(f"{order}u2").tobytes(),
        "11": BASE.astype(f"{order}f4").tobytes(),
    }
    shape = (2, 3, 4)
    base = Put(1, storage("FloatStorage", "11", 24))
    items: dict[object, object] = {
        "float32": tensor(storage("FloatStorage", "0", 24), shape),
        "float16": tensor(storage("HalfStorage", "1", 24), shape),
        "bfloat16": Call(PARAMETER, (tensor(storage("BFloat16Storage", "2", 24), shape), True, Call(ORDERED_DICT))),
        "float64": tensor(storage("DoubleStorage", "3", 24), Call(Global("torch", "Size"), (shape,)), (12, 4, 1)),
        "int64": tensor(storage("LongStorage", "4", 6), (6,)),
        "int32": tensor(storage("IntStorage", "5", 6), (6,), extra=({},)),
        "int16": tensor(storage("ShortStorage", "6", 6), (6,)),
        "int8": tensor(storage("CharStorage", "7", 6), (6,)),
        "uint8": Call(PARAMETER_WITH_STATE, (tensor(storage("ByteStorage", "8", 6), (6,)), False,
                                             Call(ORDERED_DICT), {"note": "dropped"})),
        "bool": tensor(storage("BoolStorage", "9", 3), (3,)),
        "uint16": Call(REBUILD_V3, (storage("UntypedStorage", "10", 12, "torch.storage"), 0, (6,), (1,), False,
                                    Call(ORDERED_DICT), Global("torch", "uint16"))),
        "shared_base": tensor(base, (4, 6)),
        "shared_transposed": tensor(Get(1), (6, 4), (1, 6)),
        "shared_offset": tensor(Get(1), (3, 3), (6, 1), 8),
        "shared_again": tensor(storage("FloatStorage", "11", 24), (2, 2), (12, 2), 1),
        "expanded": tensor(Get(1), (4, 3), (0, 1)),
        "scalar": tensor(storage("FloatStorage", "0", 24), (), (), 5),
        "empty": tensor(storage("FloatStorage", "0", 24), (0, 5), (5, 1)),
    }
    expected = {
        "float32": VALUES, "float16": VALUES.astype(np.float16), "bfloat16": VALUES,
        "float64": VALUES.astype(np.float64), "int64": ints * 2**40, "int32": (ints * 2**20).astype(np.int32),
        "int16": (ints * 2**10).astype(np.int16), "int8": ints.astype(np.int8),
        "uint8": np.arange(250, 256, dtype=np.uint8), "bool": np.array([True, False, True]),
        "uint16": np.arange(65530, 65536).astype(np.uint16), "shared_base": BASE, "shared_transposed": BASE.T,
        "shared_offset": BASE[1:, 2:5], "shared_again": BASE.ravel()[[[1, 3], [13, 15]]],
        "expanded": np.broadcast_to(BASE.ravel()[:3], (4, 3)), "scalar": np.array(VALUES.ravel()[5]),
        "empty": np.zeros((0, 5), np.float32),
    }
    return storages, state_dict(items), expected


def read_nemo(path: Path, **kwargs: Any) -> dict[str, np.ndarray]:
    with NemoArchive(path) as archive:
        return read_state_dict(archive, **kwargs)


def assert_same_arrays(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert list(got) == list(expected)
    for name, want in expected.items():
        array = got[name]
        assert type(array) is np.ndarray, name
        assert array.dtype == want.dtype and array.dtype.isnative, name
        assert array.flags.c_contiguous and array.flags.writeable, name
        np.testing.assert_array_equal(array, want, err_msg=name)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The current folder, which must stay empty: a refused checkpoint writes nothing and runs nothing."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    yield folder
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_crafted_checkpoint(tmp_path: Path, mode: str) -> None:
    storages, tree, expected = crafted()
    path = make_nemo(tmp_path / "m.nemo", checkpoint=torch_zip(dumps(tree), storages), mode=mode)
    got = read_nemo(path)
    assert_same_arrays(got, expected)
    assert not np.shares_memory(got["shared_base"], got["shared_transposed"])


@pytest.mark.parametrize(("order", "byteorder", "prefix", "compression"), [
    ("<", None, "model_weights", zipfile.ZIP_STORED),
    (">", b"big", "archive", zipfile.ZIP_STORED),
    ("<", b"little", "weights", zipfile.ZIP_DEFLATED),
    (">", b"big", "archive", zipfile.ZIP_DEFLATED),
])
def test_layout_variants(tmp_path: Path, order: str, byteorder: bytes | None, prefix: str, compression: int) -> None:
    storages, tree, expected = crafted(order)
    data = torch_zip(dumps(tree), storages, prefix=prefix, byteorder=byteorder, compression=compression)
    assert_same_arrays(read_nemo(make_nemo(tmp_path / "m.nemo", checkpoint=data)), expected)
    assert_same_arrays(load_torch_zip(io.BytesIO(data)), expected)


def test_wrapped_state_dict_is_unwrapped_once(tmp_path: Path) -> None:
    storages, tree, expected = crafted()
    wrapped = {"state_dict": tree, "epoch": 3, "hyper_parameters": {"lr": 0.1}}
    assert_same_arrays(load_torch_zip(io.BytesIO(torch_zip(dumps(wrapped), storages))), expected)
    message = _refused(tmp_path, {"outer": {"inner": tree}}, storages)
    assert "maps 'inner' to a value of type dict, not a tensor" in message


def test_storages_are_memory_mapped_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read_entries: list[str] = []
    original = zipfile.ZipFile.read

    def spy(self: zipfile.ZipFile, name: str | zipfile.ZipInfo, pwd: bytes | None = None) -> bytes:
        read_entries.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return original(self, name, pwd)

    monkeypatch.setattr(zipfile.ZipFile, "read", spy)
    storages, tree, expected = crafted()
    for mode in ("w", "w:gz"):
        read_entries.clear()
        path = make_nemo(tmp_path / f"m{mode[2:]}.nemo", checkpoint=torch_zip(dumps(tree), storages), mode=mode)
        assert_same_arrays(read_nemo(path), expected)
        assert read_entries == ["archive/byteorder", "archive/data.pkl"], mode


def test_progress_counts_output_bytes(tmp_path: Path) -> None:
    storages, tree, expected = crafted()
    calls: list[tuple[int, int]] = []
    path = make_nemo(tmp_path / "m.nemo", checkpoint=torch_zip(dumps(tree), storages))
    read_nemo(path, progress=lambda done, total: calls.append((done, total)))
    total = sum(a.nbytes for a in expected.values())
    assert len(calls) == len(expected) and calls[-1] == (total, total)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(calls))


def _digests(arrays: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    return {name: {"shape": list(a.shape), "dtype": str(a.dtype), "sha256": hashlib.sha256(a.tobytes()).hexdigest()}
            for name, a in arrays.items()}


def test_real_checkpoint_matches_torch() -> None:
    reference = json.loads((REFERENCE / "tiny-a-state-dict.json").read_text())
    got = read_nemo(TINY_A)
    assert list(got) == list(reference)
    assert _digests(got) == reference
    assert all(type(a) is np.ndarray and a.flags.c_contiguous for a in got.values())


def test_real_checkpoint_compressed_copy_is_identical(tmp_path: Path) -> None:
    with tarfile.open(TINY_A) as source:
        members = [(info, source.extractfile(info).read()) for info in source]
    packed = read_nemo(write_tar(tmp_path / "copy.nemo", members, "w:gz"))
    plain = read_nemo(TINY_A)
    assert list(packed) == list(plain)
    for name, array in plain.items():
        assert packed[name].dtype == array.dtype and np.array_equal(packed[name], array), name


def test_torch_made_views_and_dtypes(tmp_path: Path) -> None:
    reference = json.loads((REFERENCE / "torch-views.json").read_text())
    data = (REFERENCE / "torch-views.pt").read_bytes()
    assert _digests(load_torch_zip(REFERENCE / "torch-views.pt")) == reference
    assert _digests(load_torch_zip(io.BytesIO(data))) == reference
    assert _digests(read_nemo(make_nemo(tmp_path / "m.nemo", checkpoint=data))) == reference


def _refused(tmp_path: Path, tree: object, storages: dict[str, bytes] | None = None, **kwargs: Any) -> str:
    data = torch_zip(dumps(tree), crafted()[0] if storages is None else storages, **kwargs)
    path = make_nemo(tmp_path / "hostile.nemo", checkpoint=data)
    with pytest.raises(NemoArchiveError) as info:
        read_nemo(path)
    with pytest.raises(NemoArchiveError) as direct:
        load_torch_zip(io.BytesIO(data))
    assert str(info.value).split(": ", 1)[1] == str(direct.value).split(": ", 1)[1]
    return str(info.value)


def _payloads(marker: Path) -> list[tuple[str, str, tuple[object, ...]]]:
    """Globals that would create ``marker`` (or worse) if a pickle could call them."""
    code = f"open({str(marker)!r}, 'w').close()"
    return [
        ("os", "system", (f"touch '{marker}'",)),
        ("posix", "system", (f"touch '{marker}'",)),
        ("subprocess", "Popen", (["touch", str(marker)],)),
        ("builtins", "eval", (code,)),
        ("builtins", "exec", (code,)),
        ("__builtin__", "eval", (code,)),
        ("builtins", "open", (str(marker), "w")),
        ("builtins", "getattr", (Call(Global("builtins", "__import__"), ("os",)), "system")),
        ("torch._utils", "_rebuild_tensor", (storage("FloatStorage", "0", 24), 0, (24,), (1,))),
        ("torch.storage", "_load_from_bytes", (b"\x80\x02N.",)),
        ("numpy.core.multiarray", "_reconstruct", (Global("numpy", "ndarray"), (0,), b"b")),
        ("copyreg", "_reconstructor", (Global("builtins", "object"), Global("builtins", "object"), None)),
    ]


@pytest.mark.skipif(os.name != "posix", reason="the payload uses touch")
def test_payloads_are_live_with_plain_pickle(tmp_path: Path) -> None:
    """The hostile pickles below would really run: plain ``pickle.loads`` does what they say."""
    marker = tmp_path / "ran"
    pickle.loads(dumps(Call(Global("os", "system"), (f"touch '{marker}'",))))
    assert marker.exists()


@pytest.mark.parametrize("index", range(12))
def test_code_in_the_pickle_is_refused_unrun(tmp_path: Path, workdir: Path, index: int) -> None:
    marker = tmp_path / "ran"
    module, name, args = _payloads(marker)[index]
    storages, tree, _ = crafted()
    assert isinstance(tree, Build) and isinstance(tree.target, Filled)
    items = {**tree.target.items, "evil": Call(Global(module, name), args)}
    message = _refused(tmp_path, state_dict(items), storages)
    assert f"refers to {module}.{name}, which a model checkpoint never needs: refusing to load it" in message
    assert "never runs code" in message
    assert not marker.exists()


@pytest.mark.parametrize("where", ["top", "hooks", "location", "build_state", "dict_key"])
def test_code_is_refused_wherever_it_hides(tmp_path: Path, workdir: Path, where: str) -> None:
    marker = tmp_path / "ran"
    evil = Call(Global("os", "system"), (f"touch '{marker}'",))
    trees = {
        "top": evil,
        "hooks": state_dict({"w": tensor(storage("FloatStorage", "0", 24), (24,), hooks=evil)}),
        "location": state_dict({"w": tensor(Persistent(("storage", Global("torch", "FloatStorage"), "0", evil, 24)),
                                            (24,))}),
        "build_state": Build(Filled(Call(ORDERED_DICT), {}), {"_metadata": evil}),
        "dict_key": {evil: tensor(storage("FloatStorage", "0", 24), (24,))},
    }
    assert "refers to os.system" in _refused(tmp_path, trees[where])
    assert not marker.exists()


def test_changing_an_object_after_its_checks_is_refused(tmp_path: Path) -> None:
    checked = Put(7, tensor(storage("FloatStorage", "0", 24), (24,)))
    for state in ({"offset": 10**6}, (None, {"offset": 10**6})):
        tree = state_dict({"w": checked, "w2": Build(Get(7), state)})
        assert "tries to change an object after creating it" in _refused(tmp_path, tree)
    tree = state_dict({"f": Build(REBUILD_V2, {"__defaults__": (1,)})})
    assert "tries to change an object after creating it" in _refused(tmp_path, tree)


F32 = "FloatStorage"


@pytest.mark.parametrize(("tree", "expected"), [
    (state_dict({"w": tensor(storage(F32, "99", 4), (4,))}), "refers to the storage '99', which is not in"),
    (state_dict({"w": tensor(storage(F32, "0", 25), (25,))}), "should hold 100 bytes but its entry has 96"),
    (state_dict({"w": tensor(storage("QInt8Storage", "0", 24), (24,))}), "stores torch.QInt8Storage tensors"),
    (state_dict({"w": tensor(Persistent("0"), (24,))}), "refers to '0', which is not a torch storage"),
    (state_dict({"w": tensor(Persistent(("module", Global("torch", F32), "0", "cpu", 24)), (24,))}),
     "not a torch storage"),
    (state_dict({"w": tensor(Persistent(("storage", Global("torch", F32), "0", 5, 24)), (24,))}), "malformed storage"),
    (state_dict({"w": tensor(Persistent(("storage", Global("torch", F32), "0", "cpu", -1)), (24,))}),
     "malformed storage"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (10,), (1,), 15)}), "reads past the end of its storage 0"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (4, 6), (7, 1))}), "reads past the end"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (2, 2), (30, 0))}), "reads past the end"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (), (), 24)}), "reads past the end"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (0,), (1,), 25)}), "reads past the end"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (2, 3), (-3, 1), 20)}), "not a tuple of non-negative integers"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (2.0, 3), (3, 1))}), "not a tuple of non-negative integers"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (True, 3), (3, 1))}), "not a tuple of non-negative integers"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (1,) * 33, (1,) * 33)}), "at most 32 numbers"),
    (state_dict({"w": tensor(storage(F32, "0", 24), "abc", (1,))}), "shape is str"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (2, 3), (3,))}), "invalid offset or strides"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (24,), offset=-1)}), "invalid offset or strides"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (10**12,), (0,))}), "would take 4,000,000,000,000 bytes"),
    (state_dict({"w": tensor("not a storage", (24,))}), "built on a str instead of a storage"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (24,), hooks=Filled(Call(ORDERED_DICT), {"h": 1}))}),
     "carries backward hooks"),
    (state_dict({"w": tensor(storage(F32, "0", 24), (24,), extra=({"neg": True},))}), "stored negated or conjugated"),
    (state_dict({"w": Call(REBUILD_V3, (storage("UntypedStorage", "0", 96, "torch.storage"), 0, (3,), (1,), False,
                                        Call(ORDERED_DICT), "uint16"))}), "dtype is a str"),
    (state_dict({"w": Call(PARAMETER, ([1, 2], False, Call(ORDERED_DICT)))}), "parameter wraps a list"),
    (state_dict({"w": 3}), "maps 'w' to a value of type int, not a tensor"),
    (state_dict({5: tensor(storage(F32, "0", 24), (24,))}), "has the key 5, which is not a name"),
    ([tensor(storage(F32, "0", 24), (24,))], "holds a list, not a state dict"),
    (Call(Global("torch", "Size"), ((1, 2),)), "holds a tuple, not a state dict"),
])
def test_malformed_tensor_is_refused(tmp_path: Path, tree: object, expected: str) -> None:
    message = _refused(tmp_path, tree)
    assert expected in message
    assert message.startswith(f"{tmp_path / 'hostile.nemo'} (./model_weights.ckpt): ")


def test_broken_zip_layouts(tmp_path: Path) -> None:
    storages, tree, _ = crafted()
    assert "without exactly one <name>/data.pkl" in _refused(tmp_path, tree, storages, prefix="a/b")
    assert "byte order is b'middle'" in _refused(tmp_path, tree, storages, byteorder=b"middle")
    good = torch_zip(dumps(tree), storages)
    cases = {
        "legacy": (dumps(tree), "not a zip archive, the format torch.save has written since torch 1.6"),
        "truncated": (good[: len(good) // 2], "its zip archive is truncated or damaged"),
        "random": (os.urandom(3000), "not a zip archive"),
    }
    header = zipfile.ZipFile(io.BytesIO(good)).getinfo("archive/data/0").header_offset
    cases["header"] = (good[:header] + b"PK\x03\x05" + good[header + 4:], "archive/data/0 is damaged or encrypted")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as two:
        for prefix in ("a", "b"):
            two.writestr(f"{prefix}/data.pkl", dumps({}))
    cases["two_pickles"] = (buffer.getvalue(), "without exactly one <name>/data.pkl")
    for name, (data, expected) in cases.items():
        with pytest.raises(NemoArchiveError) as info:
            read_nemo(make_nemo(tmp_path / f"{name}.nemo", checkpoint=data))
        assert expected in str(info.value), name


def test_archive_without_weights(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "m.nemo", "w") as tar:
        for name, data in (("./model_config.yaml", b"a: 1\n"), ("./model_weights/shard.distcp", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(NemoArchiveError) as info:
        read_nemo(tmp_path / "m.nemo")
    assert "holds no model_weights.ckpt (its files: ./model_config.yaml, ./model_weights/shard.distcp)" in str(
        info.value)
    assert "save_to" in str(info.value)


def test_missing_checkpoint_file(tmp_path: Path) -> None:
    with pytest.raises(NemoArchiveError, match="cannot be opened"):
        load_torch_zip(tmp_path / "absent.ckpt")


def test_only_the_named_tensors_are_read() -> None:
    from captioner.asr.nemo_archive import NemoArchive

    with NemoArchive(FIXTURES / "seed" / "tiny-a" / "tiny-a.nemo") as archive:
        everything = read_state_dict(archive)
        some = read_state_dict(archive, only={"joint.enc.bias", "encoder.pre_encode.out.weight", "not.there"})
    assert sorted(some) == ["encoder.pre_encode.out.weight", "joint.enc.bias"]
    assert all(np.array_equal(some[k], everything[k]) for k in some)
