"""The models on this machine: the bundled demo model and everything under ``<user data>/models``.

Installing a catalogue entry downloads its ``.nemo`` into ``models/.downloads`` (resumable there), checks its
size and SHA-256, imports it into a hidden folder beside its final place and renames it into place; the
``.nemo`` is deleted once the import succeeded. Nothing half-made ever carries a model's name.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from captioner.asr.errors import CaptionerError, ModelFolderError
from captioner.asr.model_folder import load_model_folder
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
    nemo_files = [f for f in entry.files if f.name.endswith(".nemo")]
    if len(nemo_files) != 1:
        raise CaptionerError(f"The catalogue entry {entry.id} should name exactly one .nemo file.")
    file = nemo_files[0]
    nemo = download(catalogue.url_for(file), base / DOWNLOADS / file.name, size=file.size, sha256=file.sha256,
                    progress=on_download, cancelled=cancelled)
    import_nemo(nemo, target, name=entry.id.split("/")[-1], progress=on_import, cancelled=cancelled)
    nemo.unlink()
    return target


def import_file(path: Path, *, root: Path | None = None,
                on_import: Callable[[ImportProgress], None] | None = None,
                cancelled: CancelCheck | None = None) -> Path:
    """Import a local ``.nemo`` into ``<models>/<its name>`` (``-2``, ``-3``… when taken)."""
    base = root or user_models_dir()
    target, n = base / path.stem, 1
    while target.exists():
        n += 1
        target = base / f"{path.stem}-{n}"
    import_nemo(path, target, progress=on_import, cancelled=cancelled)
    return target
