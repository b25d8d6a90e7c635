"""The models on this machine: the bundled demo model and everything under ``<user data>/models``.

Installing a catalogue entry downloads its ``.nemo`` into ``models/.downloads`` (resumable there), checks its
size and SHA-256, imports it into a hidden folder beside its final place and renames it into place; the
``.nemo`` is deleted once the import succeeded. Nothing half-made ever carries a model's name.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from captioner.asr.errors import ModelFolderError
from captioner.asr.model_folder import load_model_folder
from captioner.asr.weights_digest import full_sha256
from captioner.errors import CaptionerError
from captioner.model_manager.catalogue import Catalogue, CatalogueEntry
from captioner.model_manager.download import CancelCheck, DownloadProgress, download
from captioner.nemo_import.importer import ImportProgress, import_nemo
from captioner.paths import DEFAULT_MODEL_NAME, bundled_models_dirs, user_models_dir

DOWNLOADS = ".downloads"


@dataclass(frozen=True)
class InstalledModel:
    name: str
    path: Path
    size_bytes: int
    family: str
    languages: tuple[str, ...]
    lookaheads_ms: tuple[int, ...]
    bundled: bool
    problem: str | None = None
    """Why the folder cannot be used, for a broken or half-deleted one; ``None`` when it loads."""


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _describe(path: Path, bundled: bool) -> InstalledModel:
    try:
        spec = load_model_folder(path).spec
    except ModelFolderError as exc:
        return InstalledModel(path.name, path, folder_bytes(path), "", (), (), bundled, str(exc))
    languages = tuple(sorted(spec.prompt.dictionary)) if spec.prompt else ()
    return InstalledModel(path.name, path, folder_bytes(path), spec.family.value, languages,
                          tuple(spec.lookaheads_ms()), bundled)


def installed_models(root: Path | None = None) -> list[InstalledModel]:
    """The bundled demo model (if any) first, then the user's models by name."""
    found: list[InstalledModel] = []
    for models in bundled_models_dirs():
        demo = models / DEFAULT_MODEL_NAME
        if demo.is_dir():
            found.append(_describe(demo, bundled=True))
            break
    base = root or user_models_dir()
    if base.is_dir():
        for path in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
            found.append(_describe(path, bundled=False))
    return found


def find_installed(name: str, root: Path | None = None) -> InstalledModel:
    for model in installed_models(root):
        if model.name == name or str(model.path) == name:
            return model
    names = ", ".join(m.name for m in installed_models(root)) or "none"
    raise CaptionerError(f"No installed model {name!r} (installed: {names}).")


def remove_model(name: str, root: Path | None = None) -> Path:
    model = find_installed(name, root)
    if model.bundled:
        raise CaptionerError(f"{model.name} is bundled with Captioner and cannot be removed.")
    shutil.rmtree(model.path)
    return model.path


def install(entry: CatalogueEntry, catalogue: Catalogue, *, root: Path | None = None,
            on_download: Callable[[DownloadProgress], None] | None = None,
            on_import: Callable[[ImportProgress], None] | None = None,
            cancelled: CancelCheck | None = None) -> Path:
    """Download ``entry``'s ``.nemo``, verify it, import it into ``<models>/<name>``; returns that folder."""
    base = root or user_models_dir()
    target = base / entry.id.split("/")[-1]
    if target.exists():
        raise CaptionerError(f"{target} already exists: {entry.display_name} is installed. Remove it first "
                             f"(`captioner models remove {target.name}`) to install it again.")
    if len(entry.files) != 1:
        raise CaptionerError(f"The catalogue entry {entry.id} should name exactly one file.")
    file = entry.files[0]
    fetched = base / DOWNLOADS / file.name
    if not _verified_earlier(fetched, file.size, file.sha256):
        download(catalogue.url_for(file), fetched, size=file.size, sha256=file.sha256, progress=on_download,
                 cancelled=cancelled)
    if entry.kind == "sherpa-onnx":
        try:
            unpack_pack(fetched, target)
        except CaptionerError:
            fetched.unlink()  # it matched its hash but cannot be used: fetching it again would not help
            raise
    else:
        import_nemo(fetched, target, name=entry.id.split("/")[-1], progress=on_import, cancelled=cancelled)
    fetched.unlink()
    return target


def _verified_earlier(path: Path, size: int | None, sha256: str | None) -> bool:
    """A complete download left by an attempt whose import was cancelled: reused when it still checks out."""
    if not path.is_file():
        return False
    if (size is not None and path.stat().st_size != size) or sha256 is None or full_sha256(path) != sha256:
        path.unlink()
        return False
    return True



PACK_FILES = re.compile(r"(encoder|decoder|joiner)(\.int8)?\.onnx|tokens\.txt|README\.md")
MAX_PACK_MEMBER = 4 << 30


def unpack_pack(archive: Path, target: Path) -> Path:
    """A sherpa-onnx pack (``.tar.bz2``) into ``target``: only its model files, checked, then renamed into place.

    Only regular files named like a pack's (encoder/decoder/joiner graphs, ``tokens.txt``) are taken, by base
    name, never by the path the archive gives them: no member can write outside, link anywhere or overwrite.
    """
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.unpacking-", dir=target.parent))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                for member in tar:
                    name = Path(member.name).name
                    if not PACK_FILES.fullmatch(name) or "test_wavs" in Path(member.name).parts:
                        continue
                    if not member.isfile() or member.size > MAX_PACK_MEMBER or (staging / name).exists():
                        raise CaptionerError(f"{archive.name} holds {member.name} as something other than one "
                                             "plain file: it is not a sherpa-onnx pack Captioner can use.")
                    source = tar.extractfile(member)
                    assert source is not None
                    with source, open(staging / name, "xb") as out:
                        shutil.copyfileobj(source, out, 1 << 20)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise CaptionerError(f"{archive.name} is not a readable .tar.bz2 pack ({exc}). Download it again.") from exc
        load_model_folder(staging)  # refuses, with the reason, a pack the recognizer could not run
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def import_file(path: Path, *, root: Path | None = None,
                on_import: Callable[[ImportProgress], None] | None = None,
                cancelled: CancelCheck | None = None) -> Path:
    """Import a local ``.nemo`` into ``<models>/<its name>`` (``-2``, ``-3``… when taken)."""
    target = free_folder_name(root or user_models_dir(), path.stem)
    import_nemo(path, target, progress=on_import, cancelled=cancelled)
    return target


def free_folder_name(parent: Path, stem: str) -> Path:
    """``parent/stem``, or ``stem-2``, ``stem-3``… when that is taken."""
    candidate, n = parent / stem, 1
    while candidate.exists():
        n += 1
        candidate = parent / f"{stem}-{n}"
    return candidate


def megabytes(size: int | None) -> str:
    """A size as people read it in the model lists: "460 MB", or "size unknown"."""
    return "size unknown" if size is None else f"{size / 1e6:,.0f} MB"
