"""``captioner models``: list, download, import, remove and choose the models on this machine."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

from captioner.errors import CaptionerError
from captioner.model_manager.catalogue import CatalogueEntry, ModelFile, load_catalogue
from captioner.model_manager.download import DownloadProgress
from captioner.model_manager.store import (
    find_installed,
    import_file,
    install,
    installed_models,
    megabytes,
    remove_model,
)
from captioner.nemo_import.importer import ImportProgress


def _show_download(p: DownloadProgress) -> None:
    eta = f", {p.eta_s:,.0f} s left" if p.eta_s is not None else ""
    total = f" of {p.total / 1e6:,.0f}" if p.total else ""
    print(f"\r  {p.done / 1e6:,.0f}{total} MB at {p.bytes_per_s / 1e6:,.1f} MB/s{eta}   ", end="", file=sys.stderr,
          flush=True)


def _show_import(p: ImportProgress) -> None:
    print(f"\r  [{p.step}/{p.steps}] {p.stage}" + " " * 20, end="" if p.step < p.steps else "\n", file=sys.stderr,
          flush=True)


def run_list(args: argparse.Namespace) -> int:
    active = _active_model_dir()
    print("Installed:")
    for model in installed_models():
        mark = "*" if active is not None and model.path.resolve() == active else " "
        what = model.problem or f"{model.family}, lookaheads {', '.join(f'{ms} ms' for ms in model.lookaheads_ms)}"
        languages = f", {len(model.languages)} languages" if model.languages else ""
        bundled = " (bundled demo)" if model.bundled else ""
        print(f" {mark} {model.name}{bundled}: {megabytes(model.size_bytes)}, {what}{languages}  [{model.path}]")
    print("\nDownloadable (captioner models download NAME):")
    for entry in load_catalogue().offered():
        print(f"   {entry.id.split('/')[-1]}: {entry.display_name}; {entry.licence_name}; "
              f"download {megabytes(entry.download_bytes)}. {entry.needs}")
    return 0


def _accept_licence(entry: CatalogueEntry, accepted: bool) -> None:
    print(f"{entry.display_name} is published under the {entry.licence_name} licence: {entry.licence_url}",
          file=sys.stderr)
    if accepted:
        return
    if not sys.stdin.isatty():
        raise CaptionerError("Accept the model's licence first: read it, then run the command again with "
                             "--accept-licence.")
    answer = input("Do you accept this licence? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise CaptionerError("The licence was not accepted; nothing was downloaded.")


def run_download(args: argparse.Namespace) -> int:
    catalogue = load_catalogue()
    if "://" in args.name:
        name = Path(urlsplit(args.name).path).name
        if not name.endswith(".nemo"):
            raise CaptionerError(f"{args.name} does not name a .nemo file; Captioner downloads .nemo checkpoints.")
        entry = CatalogueEntry(id=name.removesuffix(".nemo"), display_name=name, kind="nemo",
                               files=(ModelFile(name, args.name, None, args.sha256),), licence_name="publisher's",
                               licence_url=args.name, verified=True, source="url")
    else:
        entry = catalogue.find(args.name)
    _accept_licence(entry, args.accept_licence)
    print(f"Downloading {entry.display_name} ({megabytes(entry.download_bytes)})…", file=sys.stderr)
    folder = install(entry, catalogue, on_download=_show_download, on_import=_show_import)
    print(f"Installed {entry.display_name} in {folder}. Make it the app's model with `captioner models use "
          f"{folder.name}`.")
    return 0


def run_import(args: argparse.Namespace) -> int:
    folder = import_file(Path(args.path), on_import=_show_import)
    print(f"Imported {args.path} into {folder}. Make it the app's model with `captioner models use {folder.name}`.")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    path = remove_model(args.name)
    print(f"Removed {path}.")
    return 0


def run_use(args: argparse.Namespace) -> int:
    model = find_installed(args.name)
    if model.problem:
        raise CaptionerError(f"{model.name} cannot be used: {model.problem}")
    from captioner.app.settings import load_settings, open_qsettings, save_settings

    qs = open_qsettings()
    settings = load_settings(qs)
    settings.model_dir = str(model.path)
    settings.lookahead_ms = None
    save_settings(settings, qs)
    print(f"The app now captions with {model.name} ({model.path}); a running app picks it up when restarted.")
    return 0


def _active_model_dir() -> Path | None:
    from captioner.app.settings import load_settings, open_qsettings
    from captioner.paths import default_model_dir

    chosen = load_settings(open_qsettings()).model_dir
    found = Path(chosen).expanduser() if chosen else default_model_dir()
    return found.resolve() if found is not None else None


def run_models(args: argparse.Namespace) -> int:
    handlers = {"list": run_list, "download": run_download, "import": run_import, "remove": run_remove,
                "use": run_use}
    return handlers[args.models_command](args)
