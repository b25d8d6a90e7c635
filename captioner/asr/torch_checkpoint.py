"""The torch checkpoint inside a ``.nemo``, read as numpy arrays without torch and without trusting its pickle.

``torch.save`` writes a zip: ``<prefix>/data.pkl``, a pickle that describes the tensors, one
``<prefix>/data/<key>`` entry of raw storage bytes per storage, and ``<prefix>/byteorder``. Unpickling runs
whatever functions a pickle names, so ``data.pkl`` is read by :class:`_RestrictedUnpickler`: it knows only the
globals a state dict uses (the tensor and parameter rebuild functions, the storage types,
``collections.OrderedDict`` and ``torch.Size``), maps each to a function of ours that only records and checks
what it is given, and refuses every other global. Each tensor's offset, shape and strides are checked to stay
inside its storage before any bytes are read. Storage entries stored uncompressed (torch always stores them so)
are memory-mapped in place, so a 2 GB checkpoint costs only the arrays it produces.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import stat
import struct
import zipfile
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

from captioner.asr.errors import NemoArchiveError
from captioner.asr.nemo_archive import MAX_TOTAL_BYTES, NemoArchive

WEIGHTS_MEMBER = "model_weights.ckpt"
MAX_PICKLE_BYTES = 256 * 2**20
MAX_DIMS = 32

_ByteOrder = Literal["<", ">"]
_BFLOAT16 = "bfloat16"
_BOOL = "bool"
_STORAGE_TYPES = {
    "DoubleStorage": "f8", "FloatStorage": "f4", "HalfStorage": "f2", "BFloat16Storage": _BFLOAT16,
    "LongStorage": "i8", "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1", "ByteStorage": "u1",
    "BoolStorage": _BOOL,
}
"""torch's typed storages and the numpy type of their elements."""
_V3_DTYPES = {"uint16": "u2", "uint32": "u4", "uint64": "u8"}
"""The dtypes torch pickles with an untyped storage and ``_rebuild_tensor_v3`` that numpy can hold."""
_STORED_AS = {_BFLOAT16: "u2", _BOOL: "u1"}
_OUTPUT_AS = {_BFLOAT16: "f4", _BOOL: "?"}

_CODE_FIX = ("Captioner reads only plain tensors from a checkpoint and never runs code from it. Use the model's "
             "original .nemo file from NVIDIA NGC or Hugging Face.")
_DAMAGED_FIX = "Download or save the .nemo file again; its model_weights.ckpt is a torch.save zip archive."


class _LoadError(Exception):
    """A checkpoint problem found where the file's name is not known; reported as a :class:`NemoArchiveError`."""

    def __init__(self, problem: str, fix: str = _DAMAGED_FIX) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


class _Sealed:
    """An object the unpickler hands to the pickle: the pickle can call it or pass it on, never change it."""

    __slots__ = ()

    def __setstate__(self, state: object) -> None:
        raise _LoadError("its pickle tries to change an object after creating it, which torch.save never writes")


class _Call(_Sealed):
    """A global the pickle may call, standing for the torch function of the same name."""

    __slots__ = ("_function",)

    def __init__(self, function: Callable[..., object]) -> None:
        self._function = function

    def __call__(self, *args: object) -> object:
        return self._function(*args)


class _StorageType(_Sealed):
    __slots__ = ("code",)

    def __init__(self, code: str) -> None:
        self.code = code


class _DType(_Sealed):
    __slots__ = ("code",)

    def __init__(self, code: str) -> None:
        self.code = code


class _Storage(_Sealed):
    """One ``data/<key>`` entry, known to hold at least ``nbytes`` bytes."""

    __slots__ = ("code", "key", "nbytes")

    def __init__(self, key: str, code: str, nbytes: int) -> None:
        self.key, self.code, self.nbytes = key, code, nbytes


class _Tensor(_Sealed):
    """A tensor whose elements ``offset + sum(i * stride)`` all lie inside its storage."""

    __slots__ = ("code", "offset", "shape", "storage", "strides")

    def __init__(self, storage: _Storage, code: str, offset: int, shape: tuple[int, ...],
                 strides: tuple[int, ...]) -> None:
        self.storage, self.code, self.offset, self.shape, self.strides = storage, code, offset, shape, strides

    @property
    def output_nbytes(self) -> int:
        return math.prod(self.shape) * _output_dtype(self.code).itemsize


class _StateDict(dict[Any, Any]):
    """``collections.OrderedDict``: a plain dict, since dicts keep their order."""

    def __setstate__(self, state: object) -> None:
        """torch's ``_metadata`` (module versions for ``load_state_dict``) is not needed."""


def _itemsize(code: str) -> int:
    return np.dtype(_STORED_AS.get(code, code)).itemsize


def _output_dtype(code: str) -> np.dtype[Any]:
    return np.dtype(_OUTPUT_AS.get(code, code))


def _index_tuple(value: object, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple | list) or len(value) > MAX_DIMS:
        raise _LoadError(f"a tensor's {what} is {type(value).__name__}, not a tuple of at most {MAX_DIMS} numbers")
    if not all(type(n) is int and n >= 0 for n in value):
        raise _LoadError(f"a tensor's {what} {tuple(value)!r:.80} is not a tuple of non-negative integers")
    return tuple(value)


def _tensor(storage: object, code: str, offset: object, size: object, stride: object, hooks: object,
            metadata: object) -> _Tensor:
    if not isinstance(storage, _Storage):
        raise _LoadError(f"a tensor is built on a {type(storage).__name__} instead of a storage")
    shape, strides = _index_tuple(size, "shape"), _index_tuple(stride, "strides")
    if type(offset) is not int or offset < 0 or len(strides) != len(shape):
        raise _LoadError(f"a tensor on storage {storage.key} has an invalid offset or strides")
    if not isinstance(hooks, dict) or hooks:
        raise _LoadError("a tensor carries backward hooks, which a saved state dict never has")
    if metadata is not None and not (isinstance(metadata, dict) and not any(metadata.values())):
        raise _LoadError("a tensor is stored negated or conjugated, which Captioner cannot read")
    capacity = storage.nbytes // _itemsize(code)
    last = offset + sum((n - 1) * s for n, s in zip(shape, strides, strict=True))
    if (last >= capacity) if 0 not in shape else (offset > capacity):
        raise _LoadError(f"a tensor of shape {shape}, strides {strides} and offset {offset} reads past the end of its "
                         f"storage {storage.key} ({capacity} elements)")
    return _Tensor(storage, code, offset, shape, strides)


def _rebuild_tensor_v2(storage: object, storage_offset: object, size: object, stride: object, requires_grad: object,
                       backward_hooks: object, metadata: object = None) -> _Tensor:
    code = storage.code if isinstance(storage, _Storage) else ""
    return _tensor(storage, code, storage_offset, size, stride, backward_hooks, metadata)


def _rebuild_tensor_v3(storage: object, storage_offset: object, size: object, stride: object, requires_grad: object,
                       backward_hooks: object, dtype: object, metadata: object = None) -> _Tensor:
    if not isinstance(dtype, _DType):
        raise _LoadError(f"a tensor's dtype is a {type(dtype).__name__}")
    return _tensor(storage, dtype.code, storage_offset, size, stride, backward_hooks, metadata)


def _rebuild_parameter(data: object, requires_grad: object, backward_hooks: object) -> _Tensor:
    if not isinstance(data, _Tensor):
        raise _LoadError(f"a parameter wraps a {type(data).__name__} instead of a tensor")
    if not isinstance(backward_hooks, dict) or backward_hooks:
        raise _LoadError("a parameter carries backward hooks, which a saved state dict never has")
    return data


def _rebuild_parameter_with_state(data: object, requires_grad: object, backward_hooks: object,
                                  state: object) -> _Tensor:
    return _rebuild_parameter(data, requires_grad, backward_hooks)


_GLOBALS: dict[tuple[str, str], object] = {
    ("collections", "OrderedDict"): _Call(_StateDict),
    ("torch", "Size"): _Call(tuple),
    ("torch._utils", "_rebuild_tensor_v2"): _Call(_rebuild_tensor_v2),
    ("torch._utils", "_rebuild_tensor_v3"): _Call(_rebuild_tensor_v3),
    ("torch._utils", "_rebuild_parameter"): _Call(_rebuild_parameter),
    ("torch._utils", "_rebuild_parameter_with_state"): _Call(_rebuild_parameter_with_state),
    ("torch.storage", "UntypedStorage"): _StorageType("u1"),
    **{("torch", name): _StorageType(code) for name, code in _STORAGE_TYPES.items()},
    **{("torch", name): _DType(code) for name, code in _V3_DTYPES.items()},
}
"""Everything a state dict's pickle may refer to; any other global is refused."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles ``data.pkl`` into :class:`_Tensor` records; refuses any global outside :data:`_GLOBALS`."""

    def __init__(self, data: bytes, entry_sizes: dict[str, int]) -> None:
        super().__init__(io.BytesIO(data))
        self._entry_sizes = entry_sizes

    def find_class(self, module_name: str, global_name: str, /) -> object:
        found = _GLOBALS.get((module_name, global_name))
        if found is not None:
            return found
        if module_name == "torch" and global_name.endswith("Storage"):
            raise _LoadError(f"it stores torch.{global_name} tensors, which Captioner cannot read",
                             "Save the model with float32, float16 or bfloat16 weights.")
        raise _LoadError(f"its pickle refers to {module_name}.{global_name}, which a model checkpoint never needs: "
                         "refusing to load it", _CODE_FIX)

    def persistent_load(self, pid: object) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise _LoadError(f"its pickle refers to {pid!r:.80}, which is not a torch storage", _CODE_FIX)
        _, storage_type, key, location, numel = pid
        if not (isinstance(storage_type, _StorageType) and isinstance(key, str) and isinstance(location, str)
                and type(numel) is int and numel >= 0):
            raise _LoadError(f"its pickle refers to a malformed storage {pid!r:.80}")
        size = self._entry_sizes.get(key)
        if size is None:
            raise _LoadError(f"its pickle refers to the storage {key!r:.80}, which is not in the checkpoint")
        nbytes = numel * _itemsize(storage_type.code)
        if nbytes > size:
            raise _LoadError(f"the storage {key} should hold {nbytes:,} bytes but its entry has {size:,}")
        return _Storage(key, storage_type.code, nbytes)


def _state_dict(loaded: object) -> dict[str, _Tensor]:
    """The ``name -> tensor`` mapping, unwrapping one ``{'state_dict': ...}`` level."""
    if isinstance(loaded, dict) and not all(isinstance(v, _Tensor) for v in loaded.values()):
        inner = loaded.get("state_dict")
        if isinstance(inner, dict):
            loaded = inner
        elif len(loaded) == 1 and isinstance(next(iter(loaded.values())), dict):
            loaded = next(iter(loaded.values()))
    if not isinstance(loaded, dict):
        raise _LoadError(f"it holds a {type(loaded).__name__}, not a state dict of tensors")
    for key, value in loaded.items():
        if not isinstance(key, str):
            raise _LoadError(f"its state dict has the key {key!r:.80}, which is not a name")
        if not isinstance(value, _Tensor):
            kind = "dict" if isinstance(value, dict) else type(value).__name__
            raise _LoadError(f"its state dict maps {key!r:.80} to a value of type {kind}, not a tensor")
    return dict(loaded)


class _TorchZip:
    """The entries of a ``torch.save`` zip, and where the bytes of each stored entry lie in the file."""

    def __init__(self, file: IO[bytes], size: int, zipped: zipfile.ZipFile, max_entry_bytes: int) -> None:
        self._file, self._size, self._zip, self._max_entry_bytes = file, size, zipped, max_entry_bytes
        pickles = [n for n in zipped.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise _LoadError("it is a zip without exactly one <name>/data.pkl, so not a torch.save checkpoint")
        self._prefix = pickles[0][: -len("data.pkl")]
        data = f"{self._prefix}data/"
        self.storages = {i.filename[len(data):]: i for i in zipped.infolist() if i.filename.startswith(data)}
        self.byteorder: _ByteOrder = "<"
        if f"{self._prefix}byteorder" in zipped.namelist():
            order = self._read(zipped.getinfo(f"{self._prefix}byteorder"), 16)
            if order not in (b"little", b"big"):
                raise _LoadError(f"its byte order is {order!r:.20}")
            self.byteorder = "<" if order == b"little" else ">"

    def pickle(self) -> bytes:
        return self._read(self._zip.getinfo(f"{self._prefix}data.pkl"), MAX_PICKLE_BYTES)

    def _read(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        if info.file_size > limit:
            raise _LoadError(f"its entry {info.filename} is {info.file_size:,} bytes, more than the {limit:,} expected")
        return self._zip.read(info)

    def storage_bytes(self, key: str, file_map: _FileMap | None) -> npt.NDArray[np.uint8]:
        """The entry's bytes: memory-mapped when it is stored uncompressed, else read."""
        info = self.storages[key]
        if file_map is None or info.compress_type != zipfile.ZIP_STORED:
            return np.frombuffer(self._read(info, self._max_entry_bytes), np.uint8)
        return file_map.bytes_at(self._data_start(info), info.file_size)

    def _data_start(self, info: zipfile.ZipInfo) -> int:
        self._file.seek(info.header_offset)
        header = self._file.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04" or info.flag_bits & 1:
            raise _LoadError(f"its zip entry {info.filename} is damaged or encrypted")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        start: int = info.header_offset + 30 + name_length + extra_length
        if info.compress_size != info.file_size or start + info.file_size > self._size:
            raise _LoadError(f"its zip entry {info.filename} lies past the end of the file")
        return start


def _stored_dtype(code: str, byteorder: _ByteOrder) -> np.dtype[Any]:
    return np.dtype(_STORED_AS.get(code, code)).newbyteorder(byteorder)


def _array(raw: npt.NDArray[np.uint8], tensor: _Tensor, byteorder: _ByteOrder) -> npt.NDArray[Any]:
    """A C-contiguous native copy of the tensor; bfloat16 widened to float32."""
    stored = _stored_dtype(tensor.code, byteorder)
    if 0 in tensor.shape:
        return np.zeros(tensor.shape, _output_dtype(tensor.code))
    elements = raw[: tensor.storage.nbytes - tensor.storage.nbytes % stored.itemsize].view(stored)
    view = as_strided(elements[tensor.offset:], shape=tensor.shape,
                      strides=tuple(s * stored.itemsize for s in tensor.strides), writeable=False)
    if tensor.code == _BFLOAT16:
        widened = np.array(view, dtype=np.uint32, order="C")
        widened <<= 16
        return widened.view(np.float32)
    return np.array(view, dtype=_output_dtype(tensor.code), order="C")


class _FileMap:
    """Memory-maps the zip's entries from the file that holds it, one at a time, so that each is unmapped once its
    tensors are copied and the process never holds the whole checkpoint."""

    def __init__(self, source: Path | io.FileIO, base_offset: int) -> None:
        self._source, self._base_offset = source, base_offset

    def bytes_at(self, start: int, length: int) -> npt.NDArray[np.uint8]:
        if length == 0:
            return np.zeros(0, np.uint8)
        return np.memmap(self._source, dtype=np.uint8, mode="r", offset=self._base_offset + start, shape=(length,))


def _file_map(file: IO[bytes], mapped_from: Path | None, base_offset: int) -> _FileMap | None:
    """A map of ``mapped_from`` at ``base_offset``, or of ``file`` itself if it is a regular OS file, else None."""
    if mapped_from is not None:
        return _FileMap(mapped_from, base_offset)
    raw = getattr(file, "raw", file)
    if isinstance(raw, io.FileIO) and stat.S_ISREG(os.fstat(raw.fileno()).st_mode):
        return _FileMap(raw, 0)
    return None


@contextmanager
def _checkpoint_errors(origin: str) -> Iterator[None]:
    try:
        yield
    except NemoArchiveError:
        raise
    except _LoadError as exc:
        raise NemoArchiveError(f"{origin}: {exc.problem}.", exc.fix) from None
    except Exception as exc:
        raise NemoArchiveError(f"{origin} is not a readable torch checkpoint ({type(exc).__name__}: {exc}).",
                               _DAMAGED_FIX) from exc


def _load(file: IO[bytes], mapped_from: Path | None, base_offset: int, origin: str, max_total_bytes: int,
          progress: Callable[[int, int], None] | None, only: Collection[str] | None = None
          ) -> dict[str, npt.NDArray[Any]]:
    with _checkpoint_errors(origin):
        size = file.seek(0, os.SEEK_END)
        if not zipfile.is_zipfile(file):
            file.seek(0)
            if file.read(4) == b"PK\x03\x04":
                raise _LoadError("its zip archive is truncated or damaged")
            raise _LoadError("it is not a zip archive, the format torch.save has written since torch 1.6",
                             "Load the model in a recent NeMo and save it again with `model.save_to(...)`.")
        zipped = zipfile.ZipFile(file)
    with zipped:
        with _checkpoint_errors(origin):
            checkpoint = _TorchZip(file, size, zipped, max_total_bytes)
            unpickler = _RestrictedUnpickler(checkpoint.pickle(), {k: i.file_size for k, i in
                                                                   checkpoint.storages.items()})
            tensors = _state_dict(unpickler.load())
            if only is not None:
                tensors = {name: tensor for name, tensor in tensors.items() if name in only}
            total = sum(t.output_nbytes for t in tensors.values())
            if total > max_total_bytes:
                raise _LoadError(f"its tensors would take {total:,} bytes, more than the {max_total_bytes:,} Captioner "
                                 "accepts from one model")
            file_map = _file_map(file, mapped_from, base_offset)
        by_storage: dict[str, list[str]] = {}
        for name, tensor in tensors.items():
            by_storage.setdefault(tensor.storage.key, []).append(name)
        arrays: dict[str, npt.NDArray[Any]] = {}
        done = 0
        for key, names in by_storage.items():
            with _checkpoint_errors(origin):
                raw = checkpoint.storage_bytes(key, file_map)
            for name in names:
                with _checkpoint_errors(origin):
                    arrays[name] = _array(raw, tensors[name], checkpoint.byteorder)
                done += tensors[name].output_nbytes
                if progress is not None:
                    progress(done, total)
    return {name: arrays[name] for name in tensors}


def load_torch_zip(file: IO[bytes] | Path, *, base_offset_in: Path | None = None, base_offset: int = 0,
                   max_total_bytes: int = MAX_TOTAL_BYTES,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, npt.NDArray[Any]]:
    """The state dict of a ``torch.save`` zip checkpoint (a ``.ckpt``/``.pt`` path or an open binary file).

    When ``file``'s bytes are stored verbatim in another file (an uncompressed tar member), ``base_offset_in``
    names that file and ``base_offset`` where they start, so the storages are memory-mapped from it instead of
    read. ``progress(done, total)`` counts the bytes of the arrays made so far.
    """
    if isinstance(file, Path):
        try:
            handle = open(file, "rb")  # noqa: SIM115 - closed by the with block below
        except OSError as exc:
            raise NemoArchiveError(f"{file} cannot be opened ({exc.strerror or exc}).",
                                   "Check the path and that the file is readable.") from exc
        with handle:
            return _load(handle, file, 0, str(file), max_total_bytes, progress)
    name = getattr(file, "name", None)
    origin = str(base_offset_in) if base_offset_in is not None else name if isinstance(name, str) else "the checkpoint"
    return _load(file, base_offset_in, base_offset, origin, max_total_bytes, progress)


def read_state_dict(archive: NemoArchive, member: str = WEIGHTS_MEMBER, *,
                    progress: Callable[[int, int], None] | None = None, only: Collection[str] | None = None
                    ) -> dict[str, npt.NDArray[Any]]:
    """``name -> array`` for every tensor of the archive's checkpoint: C-contiguous, bfloat16 widened to float32.

    ``only`` restricts it to those names (the rest are never read from the file).
    """
    found = archive.find(member)
    if found is None:
        names = ", ".join(m.name for m in archive.members()[:8])
        raise NemoArchiveError(
            f"{archive.path} holds no {member} (its files: {names}): the weights are saved in a layout Captioner "
            "cannot read, such as a distributed checkpoint.",
            "Load the model in NeMo and save it again with `model.save_to('model.nemo')`.")
    origin = f"{archive.path} ({found.name})"
    with archive.open_member(found.name) as file:
        mapped_from = None if archive.compressed else archive.path
        return _load(file, mapped_from, found.offset_data, origin, archive.max_total_bytes, progress, only)
