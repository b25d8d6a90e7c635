"""The models a user can download: a data file shipped in the package, plus the user's own entries.

Each entry names the exact files with their URLs, sizes and (where the publisher shows one) SHA-256, and
says where each URL and hash was read. An entry whose URLs could not be verified is kept with
``verified: false`` and never offered in the interface, so Captioner never fetches a guessed address.

``<user data>/catalogue.json`` (same format) adds entries of the user's own and may set ``mirror``: a base
URL that replaces each file URL's scheme and host (for a company mirror of Hugging Face, say).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from captioner.errors import CaptionerError
from captioner.paths import user_data_dir

CATALOGUE_FORMAT = 1
KINDS = ("nemo", "sherpa-onnx")
"""A ``.nemo`` checkpoint (imported after the download), or a sherpa-onnx pack (``.tar.bz2``, unpacked)."""
USER_CATALOGUE = "catalogue.json"


class CatalogueError(CaptionerError):
    """A catalogue file that cannot be read; the message names the file and the field."""


@dataclass(frozen=True)
class ModelFile:
    name: str
    url: str
    size: int | None
    sha256: str | None


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    display_name: str
    kind: str
    """One of ``KINDS``."""
    files: tuple[ModelFile, ...]
    family: str = ""
    languages: tuple[str, ...] = ()
    cased_punctuated: bool = False
    licence_name: str = ""
    licence_url: str = ""
    page: str = ""
    parameters: int | None = None
    needs: str = ""
    """What the user's machine needs (memory, whether a CPU keeps up), in a sentence."""
    verified: bool = False
    source: str = "builtin"
    notes: str = ""
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def download_bytes(self) -> int | None:
        sizes = [f.size for f in self.files]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)


@dataclass(frozen=True)
class Catalogue:
    entries: tuple[CatalogueEntry, ...]
    mirror: str | None = None

    def offered(self) -> list[CatalogueEntry]:
        """What the interface lists: verified entries only."""
        return [e for e in self.entries if e.verified]

    def find(self, key: str) -> CatalogueEntry:
        for entry in self.entries:
            if key in (entry.id, entry.id.split("/")[-1]):
                if not entry.verified:
                    raise CatalogueError(f"The catalogue entry {entry.id} has no verified download address; "
                                         "Captioner does not download from guessed URLs. Download the file "
                                         "yourself and use `captioner models import PATH`.")
                return entry
        known = ", ".join(e.id for e in self.offered()) or "none"
        raise CatalogueError(f"No model {key!r} in the catalogue (downloadable: {known}). A URL works too: "
                             "`captioner models download URL --sha256 HEX`.")

    def url_for(self, file: ModelFile) -> str:
        if not self.mirror:
            return file.url
        parts = urlsplit(file.url)
        return self.mirror.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def _entry(data: Any, origin: str, source: str) -> CatalogueEntry:
    if not isinstance(data, dict):
        raise CatalogueError(f"{origin}: every entry of 'models' must be an object.")
    try:
        files = tuple(ModelFile(str(f["name"]), str(f["url"]), None if f.get("size") is None else int(f["size"]),
                                None if not f.get("sha256") else str(f["sha256"]).lower())
                      for f in data["files"])
        return CatalogueEntry(
            id=str(data["id"]),
            display_name=str(data.get("display_name") or data["id"]),
            kind=str(data.get("kind", "nemo")),
            files=files,
            family=str(data.get("family", "")),
            languages=tuple(str(x) for x in data.get("languages", ())),
            cased_punctuated=bool(data.get("cased_punctuated", False)),
            licence_name=str((data.get("licence") or {}).get("name", "")),
            licence_url=str((data.get("licence") or {}).get("url", "")),
            page=str(data.get("page", "")),
            parameters=None if data.get("parameters") is None else int(data["parameters"]),
            needs=str(data.get("needs", "")),
            verified=bool(data.get("verified", False)),
            source=source,
            notes=str(data.get("notes", "")),
            sources={str(k): str(v) for k, v in (data.get("sources") or {}).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogueError(f"{origin}: the entry {data.get('id', '?')!r} lacks or mistypes a field "
                             f"({type(exc).__name__}: {exc}).") from exc


def parse_catalogue(text: str, origin: str, source: str) -> Catalogue:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CatalogueError(f"{origin} is not valid JSON ({exc}).") from exc
    if not isinstance(data, dict) or data.get("format") != CATALOGUE_FORMAT:
        raise CatalogueError(f"{origin} is not a Captioner catalogue (format {CATALOGUE_FORMAT}).")
    entries = tuple(_entry(e, origin, source) for e in data.get("models", ()))
    for entry in entries:
        if entry.kind not in KINDS:
            raise CatalogueError(f"{origin}: the entry {entry.id} has kind {entry.kind!r}; Captioner downloads "
                                 f"{' and '.join(repr(k) for k in KINDS)}.")
    mirror = data.get("mirror")
    return Catalogue(entries, str(mirror) if mirror else None)


def builtin_catalogue() -> Catalogue:
    text = resources.files("captioner.model_manager").joinpath("catalogue.json").read_text(encoding="utf-8")
    return parse_catalogue(text, "the built-in catalogue", "builtin")


def load_catalogue(user_file: Path | None = None) -> Catalogue:
    """The built-in entries, then the user's (a user entry with a built-in id replaces it)."""
    builtin = builtin_catalogue()
    path = user_file or user_data_dir() / USER_CATALOGUE
    if not path.is_file():
        return builtin
    user = parse_catalogue(path.read_text(encoding="utf-8"), str(path), "user")
    mine = {e.id for e in user.entries}
    return Catalogue(tuple(e for e in builtin.entries if e.id not in mine) + user.entries,
                     user.mirror or builtin.mirror)
