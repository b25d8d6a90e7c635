"""Reading a NeMo ``.nemo`` archive safely, without NeMo.

A ``.nemo`` is a tar of plain files: ``model_config.yaml``, the SentencePiece tokenizer and the torch
checkpoint ``model_weights.ckpt``. It usually comes from the internet, so every member is checked before
anything is read (regular files and folders only, relative names without ``..``, no duplicates, sizes
within limits) and nothing is ever extracted by name: small members are read into memory, the checkpoint
is memory-mapped in place, or, from a compressed tar, copied into an anonymous temporary file.
"""

from __future__ import annotations

import lzma
import os
import re
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from captioner.asr.errors import ModelFolderError, NemoArchiveError
from captioner.asr.nemo_config import CONFIG_NAME, parse_config

MAX_TOTAL_BYTES = 16 * 2**30
MAX_CONFIG_BYTES = 16 * 2**20
MAX_TOKENIZER_BYTES = 64 * 2**20
MAX_EXPANSION = 50
"""A compressed ``.nemo`` holds float weights, which barely compress (about 1.1x): one that would unpack to more
than this many times its size (and more than ``EXPANSION_FLOOR_BYTES``) is padding or a decompression bomb."""
EXPANSION_FLOOR_BYTES = 16 * 2**20
TOKENIZER_SUFFIX = "tokenizer.model"

_COMPRESSED: tuple[tuple[bytes, Literal["r:gz", "r:bz2", "r:xz"]], ...] = (
    (b"\x1f\x8b", "r:gz"), (b"BZh", "r:bz2"), (b"\xfd7zXZ\x00", "r:xz"))
_READ_ERRORS = (tarfile.TarError, OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)
"""What tarfile and the decompressors raise on a damaged archive."""
_COPY_CHUNK = 1 << 20
_REDOWNLOAD = ("Download the .nemo file again from its original source (NVIDIA NGC or Hugging Face); NeMo saves a "
               ".nemo as a tar of plain files.")
_RESAVE = ("Use the .nemo file NeMo saved (`model.save_to('model.nemo')`): it holds model_config.yaml, the "
           "tokenizer and model_weights.ckpt.")


@dataclass(frozen=True)
class NemoMember:
    """A regular file of the archive; ``offset_data`` is where its bytes start in the ``.nemo`` (uncompressed tars)."""

    name: str
    size: int
    offset_data: int


def _normalized(name: str) -> str:
    """The member's path without ``./`` and empty parts, so ``./a`` and ``a`` name the same member."""
    return "/".join(part for part in name.replace("\\", "/").split("/") if part not in ("", "."))


def _base_name(name: str) -> str:
    return _normalized(name).rsplit("/", 1)[-1]


class NemoArchive:
    """An open ``.nemo``: the tar is opened once and all its members are validated up front."""

    def __init__(self, path: Path, *, max_total_bytes: int = MAX_TOTAL_BYTES) -> None:
        self.path = Path(path)
        self.max_total_bytes = max_total_bytes
        self._file: IO[bytes] | None = None
        self._tar: tarfile.TarFile | None = None
        self._infos: dict[str, tarfile.TarInfo] = {}
        self._members: list[NemoMember] = []
        self._config: dict[str, Any] | None = None
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise NemoArchiveError(f"{self.path} cannot be opened ({exc.strerror or exc}).",
                                   "Check the path and that the file is readable.") from exc
        try:
            with self._tar_errors():
                size = os.fstat(self._file.fileno()).st_size
                magic = self._file.read(6)
                mode = next((mode for prefix, mode in _COMPRESSED if magic.startswith(prefix)), None)
                self.compressed = mode is not None
                self._file.seek(0)
                self._tar = tarfile.open(fileobj=self._file, mode=mode or "r:")  # noqa: SIM115 - closed by close()
            self._scan(self._tar, size)
            self._require(CONFIG_NAME)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> NemoArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def members(self) -> list[NemoMember]:
        """The regular files, in archive order."""
        return list(self._members)

    def find(self, name: str) -> NemoMember | None:
        """The member at path ``name``, else the only one with ``name``'s base name; None when there is none."""
        wanted = _normalized(name)
        for member in self._members:
            if _normalized(member.name) == wanted:
                return member
        base = _base_name(name)
        matches = [m for m in self._members if _base_name(m.name) == base]
        if len(matches) > 1:
            raise NemoArchiveError(
                f"{self.path} holds several files named {base} ({', '.join(m.name for m in matches)}), so it is not "
                "clear which one belongs to the model.", _RESAVE)
        return matches[0] if matches else None

    def config(self) -> dict[str, Any]:
        """``model_config.yaml``, parsed (and its ``${...}`` references resolved) once."""
        if self._config is None:
            text = self._read_small(self._require(CONFIG_NAME), MAX_CONFIG_BYTES)
            try:
                self._config = parse_config(text, self.path)
            except ModelFolderError as exc:
                raise NemoArchiveError(exc.problem, exc.fix) from exc
            except RecursionError as exc:
                raise NemoArchiveError(f"{self.path}: {CONFIG_NAME} is nested too deeply or refers to itself.",
                                       _REDOWNLOAD) from exc
        return self._config

    def tokenizer(self) -> bytes:
        """The SentencePiece model the config names (``nemo:<name>``), else the archive's only ``*tokenizer.model``."""
        section = self.config().get("tokenizer")
        model_path = section.get("model_path") if isinstance(section, dict) else None
        member = None
        if isinstance(model_path, str) and model_path.strip():
            named = model_path.strip()
            member = self.find(named[len("nemo:"):] if named.startswith("nemo:") else named)
        if member is None:
            candidates = [m for m in self._members if _base_name(m.name).endswith(TOKENIZER_SUFFIX)]
            if len(candidates) > 1:
                raise NemoArchiveError(
                    f"{self.path} holds several tokenizers ({', '.join(m.name for m in candidates)}) and its config "
                    "does not say which one the model uses.",
                    "Captioner needs a model with one SentencePiece tokenizer, such as "
                    "stt_en_fastconformer_hybrid_large_streaming_multi.")
            if not candidates:
                raise NemoArchiveError(
                    f"{self.path} holds no SentencePiece tokenizer (*{TOKENIZER_SUFFIX}).",
                    "Captioner needs a BPE (SentencePiece) model such as "
                    "stt_en_fastconformer_hybrid_large_streaming_multi.")
            member = candidates[0]
        return self._read_small(member, MAX_TOKENIZER_BYTES)

    def open_member(self, name: str) -> IO[bytes]:
        """A seekable binary file of the member; from a compressed tar, an anonymous temporary copy."""
        member = self._require(name)
        info = self._infos[_normalized(member.name)]
        if not self.compressed:
            return self._extract(info)
        copy = tempfile.TemporaryFile()  # noqa: SIM115 - returned to the caller, who closes it
        try:
            copied = 0
            with self._tar_errors(), self._extract(info) as source:
                while chunk := source.read(_COPY_CHUNK):
                    copied += len(chunk)
                    if copied > member.size:
                        break
                    copy.write(chunk)
            if copied != member.size:
                raise self._damaged(f"its member {member.name} does not have the {member.size:,} bytes its header "
                                    f"announces")
            copy.seek(0)
        except BaseException:
            copy.close()
            raise
        return copy

    @contextmanager
    def _tar_errors(self) -> Iterator[None]:
        try:
            yield
        except _READ_ERRORS as exc:
            raise NemoArchiveError(
                f"{self.path} is not a readable .nemo archive ({exc}).",
                "Download or save the .nemo file again; it should be a tar archive with model_config.yaml inside.",
            ) from exc

    def _damaged(self, what: str) -> NemoArchiveError:
        return NemoArchiveError(f"{self.path} is damaged or truncated: {what}.", _REDOWNLOAD)

    def _refuse(self, what: str) -> NemoArchiveError:
        return NemoArchiveError(f"{self.path} holds {what}, which a .nemo file never contains: refusing to read it.",
                                _REDOWNLOAD)

    def _scan(self, tar: tarfile.TarFile, file_size: int) -> None:
        total = 0
        with self._tar_errors():
            for info in tar:
                self._check_name(info.name)
                if info.isdir():
                    continue
                self._check_kind(info)
                key = _normalized(info.name)
                if not key:
                    raise self._refuse("a file without a name")
                if key in self._infos:
                    raise self._refuse(f"the file {key} twice")
                limit = self._limit(key)
                if info.size > limit:
                    raise NemoArchiveError(
                        f"{self.path}: its member {info.name} is {info.size:,} bytes, more than the {limit:,} bytes "
                        "Captioner accepts for it.", _REDOWNLOAD)
                total += info.size
                if self.compressed and total > max(EXPANSION_FLOOR_BYTES, MAX_EXPANSION * file_size):
                    raise NemoArchiveError(
                        f"{self.path} is a {file_size:,}-byte compressed file whose members announce more than "
                        f"{MAX_EXPANSION} times that ({total:,} bytes by {info.name}); model weights do not compress "
                        "like that, so it is not a model Captioner will unpack.", _REDOWNLOAD)
                if total > self.max_total_bytes:
                    raise NemoArchiveError(
                        f"{self.path} holds more than {self.max_total_bytes:,} bytes, more than Captioner accepts "
                        "from one model.", _REDOWNLOAD)
                if not self.compressed and info.offset_data + info.size > file_size:
                    raise self._damaged(f"its member {info.name} ends past the end of the file")
                self._infos[key] = info
                self._members.append(NemoMember(info.name, info.size, info.offset_data))
            if tar.fileobj is None:
                raise self._damaged("it cannot be read")
            tar.fileobj.seek(tar.offset)
            end = tar.fileobj.read(tarfile.BLOCKSIZE)
        if end != bytes(tarfile.BLOCKSIZE):
            raise self._damaged("it does not end with the tar end-of-archive block after its last member")

    def _check_name(self, name: str) -> None:
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
            raise self._refuse(f"a member with an absolute path ({name})")
        if ".." in name.replace("\\", "/").split("/"):
            raise self._refuse(f"a member whose path leaves the archive ({name})")

    def _check_kind(self, info: tarfile.TarInfo) -> None:
        if info.issym():
            raise self._refuse(f"a symbolic link ({info.name} -> {info.linkname})")
        if info.islnk():
            raise self._refuse(f"a hard link ({info.name} -> {info.linkname})")
        if info.ischr() or info.isblk():
            raise self._refuse(f"a device file ({info.name})")
        if info.isfifo():
            raise self._refuse(f"a FIFO ({info.name})")
        if not info.isreg() or info.issparse():
            raise self._refuse(f"a special tar entry ({info.name}, type {info.type!r})")

    def _limit(self, key: str) -> int:
        base = _base_name(key)
        if base.endswith((".yaml", ".yml")):
            return MAX_CONFIG_BYTES
        if base.endswith(TOKENIZER_SUFFIX):
            return MAX_TOKENIZER_BYTES
        return self.max_total_bytes

    def _require(self, name: str) -> NemoMember:
        member = self.find(name)
        if member is None:
            raise NemoArchiveError(f"{self.path} holds no {_base_name(name)}.", _RESAVE)
        return member

    def _extract(self, info: tarfile.TarInfo) -> IO[bytes]:
        if self._tar is None:
            raise NemoArchiveError(f"{self.path} was already closed.", "Read the archive inside its `with` block.")
        with self._tar_errors():
            handle = self._tar.extractfile(info)
        if handle is None:
            raise self._damaged(f"its member {info.name} cannot be read")
        return handle

    def _read_small(self, member: NemoMember, limit: int) -> bytes:
        if member.size > limit:
            raise NemoArchiveError(
                f"{self.path}: its member {member.name} is {member.size:,} bytes, more than the {limit:,} bytes "
                "Captioner accepts for it.", _REDOWNLOAD)
        with self._tar_errors(), self._extract(self._infos[_normalized(member.name)]) as handle:
            data = handle.read()
        if len(data) != member.size:
            raise self._damaged(f"its member {member.name} is shorter than its header says")
        return data
