"""The catalogue, installing from it (download, verify, import) and the ``captioner models`` commands."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from captioner.asr.model_folder import load_model_folder
from captioner.cli.main import main as cli_main
from captioner.model_manager.catalogue import (
    Catalogue,
    CatalogueEntry,
    CatalogueError,
    ModelFile,
    builtin_catalogue,
    load_catalogue,
)
from captioner.model_manager.download import DownloadError
from captioner.model_manager.store import DOWNLOADS, install, installed_models, remove_model
from tests.conftest import FIXTURES
from tests.model_manager.http_server import serve

NEMO = (FIXTURES / "seed" / "tiny-a" / "tiny-a.nemo").read_bytes()
NEMO_SHA = hashlib.sha256(NEMO).hexdigest()


@pytest.fixture(autouse=True)
def _own_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_builtin_entries_are_complete_and_verified() -> None:
    catalogue = builtin_catalogue()
    ids = [e.id for e in catalogue.entries]
    assert len(ids) == len(set(ids)) >= 3
    assert {"nvidia/stt_en_fastconformer_hybrid_large_streaming_multi", "nvidia/nemotron-speech-streaming-en-0.6b",
            "nvidia/nemotron-3.5-asr-streaming-0.6b"} <= set(ids)
    for entry in catalogue.offered():
        assert entry.licence_name and entry.licence_url.startswith("https://")
        assert entry.needs and entry.page.startswith("https://") and entry.kind in ("nemo", "sherpa-onnx")
        assert entry.sources.get("url") and entry.sources.get("sha256")
        for file in entry.files:
            assert file.url.startswith("https://") and file.url.endswith("/" + file.name)
            assert file.sha256 is not None and re.fullmatch(r"[0-9a-f]{64}", file.sha256)


def test_unverified_entries_are_hidden_and_refused() -> None:
    entry = CatalogueEntry("someone/guess", "Guess", "nemo", (ModelFile("g.nemo", "https://x/g.nemo", None, None),))
    catalogue = Catalogue((entry,))
    assert catalogue.offered() == []
    with pytest.raises(CatalogueError, match="no verified download address"):
        catalogue.find("guess")


def test_user_entries_and_mirror(tmp_path: Path) -> None:
    user = tmp_path / "catalogue.json"
    user.write_text(json.dumps({"format": 1, "mirror": "https://mirror.example/hf", "models": [
        {"id": "me/tiny", "display_name": "Tiny", "verified": True,
         "files": [{"name": "tiny.nemo", "url": "https://huggingface.co/me/tiny/resolve/main/tiny.nemo"}]}]}))
    catalogue = load_catalogue(user)
    entry = catalogue.find("tiny")
    assert entry.source == "user" and len(catalogue.entries) == len(builtin_catalogue().entries) + 1
    assert catalogue.url_for(entry.files[0]) == "https://mirror.example/hf/me/tiny/resolve/main/tiny.nemo"
    user.write_text('{"format": 1, "models": [{"display_name": "no id"}]}')
    with pytest.raises(CatalogueError, match="lacks or mistypes a field"):
        load_catalogue(user)


def _entry(url: str, sha: str = NEMO_SHA, size: int | None = len(NEMO)) -> CatalogueEntry:
    return CatalogueEntry("test/tiny-a", "Tiny A", "nemo", (ModelFile("tiny-a.nemo", url, size, sha),),
                          licence_name="test", licence_url="https://example.invalid/licence", verified=True)


def test_install_downloads_verifies_and_imports(tmp_path: Path) -> None:
    root = tmp_path / "models"
    with serve({"tiny-a.nemo": NEMO}) as server:
        folder = install(_entry(server.url("tiny-a.nemo")), Catalogue(()), root=root)
    assert folder == root / "tiny-a" and load_model_folder(folder).spec.lookaheads_ms() == [1040, 480, 80, 0]
    assert list((root / DOWNLOADS).iterdir()) == []  # the .nemo is gone once imported
    names = [m.name for m in installed_models(root)]
    assert names[-1] == "tiny-a"
    remove_model("tiny-a", root)
    assert not folder.exists()


def test_a_bad_download_leaves_the_models_folder_alone(tmp_path: Path) -> None:
    root = tmp_path / "models"
    with serve({"tiny-a.nemo": NEMO}) as server, pytest.raises(DownloadError, match="SHA-256"):
        install(_entry(server.url("tiny-a.nemo"), sha="1" * 64), Catalogue(()), root=root)
    assert [p.name for p in root.iterdir()] == [DOWNLOADS] and list((root / DOWNLOADS).iterdir()) == []


def test_cli_download_list_use_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with serve({"tiny-a.nemo": NEMO}) as server:
        url = server.url("tiny-a.nemo")
        assert cli_main(["models", "download", url, "--sha256", NEMO_SHA]) == 1  # licence not accepted yet
        assert "--accept-licence" in capsys.readouterr().err and server.requests == []
        assert cli_main(["models", "download", url, "--sha256", NEMO_SHA, "--accept-licence"]) == 0
    assert "captioner models use tiny-a" in capsys.readouterr().out
    assert cli_main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert re.search(r"^   tiny-a: \d+ MB, hybrid RNNT \+ CTC", listed, re.M), listed
    assert cli_main(["models", "use", "tiny-a"]) == 0
    config = (tmp_path / "config" / "Captioner" / "Captioner.ini").read_text()
    assert str(tmp_path / "data" / "Captioner" / "Captioner" / "models" / "tiny-a") in config
    assert cli_main(["models", "list"]) == 0
    assert re.search(r"^ \* tiny-a:", capsys.readouterr().out, re.M)
    assert cli_main(["models", "remove", "tiny-a"]) == 0
    assert cli_main(["models", "use", "tiny-a"]) == 1
    assert "No installed model 'tiny-a'" in capsys.readouterr().err


def test_cli_import_a_local_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "mine.nemo"
    source.write_bytes(NEMO)
    assert cli_main(["models", "import", str(source)]) == 0
    assert cli_main(["models", "import", str(source)]) == 0
    out = capsys.readouterr().out
    assert "models/mine." in out and "models/mine-2." in out


def _pack_archive(folder: Path, top: str, extra: list[tuple[str, bytes | None, str | None]] = ()) -> bytes:
    """A .tar.bz2 laid out like sherpa-onnx's releases: one top folder, the pack files, test_wavs/."""
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:bz2") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=f"{top}/{path.name}")
        wav = tarfile.TarInfo(f"{top}/test_wavs/0.wav")
        wav.size = 4
        tar.addfile(wav, io.BytesIO(b"RIFF"))
        for name, data, link in extra:
            info = tarfile.TarInfo(name)
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            else:
                assert data is not None
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _pack_entry(url: str, data: bytes) -> CatalogueEntry:
    name = url.rsplit("/", 1)[-1]
    return CatalogueEntry("test/tiny-c-pack", "Tiny pack", "sherpa-onnx",
                          (ModelFile(name, url, len(data), hashlib.sha256(data).hexdigest()),),
                          licence_name="test", licence_url="https://example.invalid/licence", verified=True)


def test_install_a_sherpa_pack(tmp_path: Path) -> None:
    from captioner.asr.spec import ModelLayout

    data = _pack_archive(FIXTURES / "sherpa" / "tiny-c-240ms-int8", "sherpa-onnx-tiny-c-240ms-int8")
    root = tmp_path / "models"
    with serve({"pack.tar.bz2": data}) as server:
        folder = install(_pack_entry(server.url("pack.tar.bz2"), data), Catalogue(()), root=root)
    assert sorted(p.name for p in folder.iterdir()) == ["decoder.int8.onnx", "encoder.int8.onnx", "joiner.int8.onnx",
                                                        "tokens.txt"]
    assert load_model_folder(folder).spec.layout is ModelLayout.SHERPA_ONNX
    assert sorted(p.name for p in root.iterdir()) == [DOWNLOADS, "tiny-c-pack"]
    assert list((root / DOWNLOADS).iterdir()) == []


def test_a_hostile_pack_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    from captioner.errors import CaptionerError

    pack = tmp_path / "pack"
    pack.mkdir()
    for path in (FIXTURES / "sherpa" / "tiny-c-240ms-int8").iterdir():
        if path.name != "encoder.int8.onnx":
            (pack / path.name).write_bytes(path.read_bytes())
    data = _pack_archive(pack, "top", [("top/encoder.int8.onnx", None, "/etc/passwd"),
                                       ("../../escape/tokens.txt", b"x 0\n", None)])
    root = tmp_path / "models"
    with serve({"pack.tar.bz2": data}) as server, pytest.raises(CaptionerError, match="not a sherpa-onnx pack"):
        install(_pack_entry(server.url("pack.tar.bz2"), data), Catalogue(()), root=root)
    assert sorted(p.name for p in root.iterdir()) == [DOWNLOADS] and not (tmp_path / "escape").exists()
    assert list((root / DOWNLOADS).iterdir()) == []
    assert not any(p.name.startswith(".tiny-c-pack") for p in root.iterdir())


def test_a_cancelled_import_reuses_the_verified_download(tmp_path: Path) -> None:
    from captioner.nemo_import.importer import ImportCancelledError

    root = tmp_path / "models"
    with serve({"tiny-a.nemo": NEMO}) as server:
        entry = _entry(server.url("tiny-a.nemo"))
        with pytest.raises(ImportCancelledError):
            install(entry, Catalogue(()), root=root, on_import=lambda p: None,
                    cancelled=lambda: (root / DOWNLOADS / "tiny-a.nemo").exists())
        assert (root / DOWNLOADS / "tiny-a.nemo").read_bytes() == NEMO
        requests = len(server.requests)
        install(entry, Catalogue(()), root=root)
        assert len(server.requests) == requests, "the verified file was reused, not fetched again"
    assert (root / "tiny-a").is_dir() and list((root / DOWNLOADS).iterdir()) == []
