"""``NemoArchive``: a ``.nemo`` is read in place, and any tar a NeMo save cannot produce is refused unread."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from captioner.asr import nemo_archive
from captioner.asr.errors import ModelFolderError, NemoArchiveError
from captioner.asr.nemo_archive import NemoArchive
from captioner.asr.nemo_config import read_nemo_archive
from tests.conftest import FIXTURES

TINY_A = FIXTURES / "seed" / "tiny-a" / "tiny-a.nemo"
TOKENIZER_NAME = "0123abcd_tokenizer.model"
CONFIG = {
    "sample_rate": 16000,
    "tokenizer": {"dir": ".", "type": "bpe", "model_path": f"nemo:{TOKENIZER_NAME}"},
    "encoder": {"d_model": 4, "n_layers": 1, "feat_in": "${preprocessor.features}"},
    "preprocessor": {"features": 80},
}


def file_info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = size, kind, linkname
    return info


def nemo_members(config: object = None, checkpoint: bytes = b"PK",
                 tokenizer: bytes = b"sentencepiece model") -> list[tuple[tarfile.TarInfo, bytes]]:
    """The members NeMo writes (a folder ``.``, then the files), with ``CONFIG`` unless told otherwise."""
    text = config if isinstance(config, bytes) else yaml.safe_dump(CONFIG if config is None else config).encode()
    return [(file_info(".", kind=tarfile.DIRTYPE), b""),
            (file_info(f"./{TOKENIZER_NAME}", len(tokenizer)), tokenizer),
            (file_info("./model_config.yaml", len(text)), text),
            (file_info("./model_weights.ckpt", len(checkpoint)), checkpoint)]


def write_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def make_nemo(path: Path, *, checkpoint: bytes = b"PK", config: object = None, mode: str = "w") -> Path:
    """A ``.nemo`` laid out as NeMo saves one, holding ``checkpoint`` as ``model_weights.ckpt``."""
    return write_tar(path, nemo_members(config, checkpoint), mode)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty current folder that must still be empty afterwards: the reader never extracts anything."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    yield folder
    assert list(folder.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"cwd", *(p.name for p in tmp_path.glob("*.nemo"))})


def refusal(path: Path, **kwargs: int) -> str:
    with pytest.raises(NemoArchiveError) as info:
        NemoArchive(path, **kwargs).close()
    assert isinstance(info.value, ModelFolderError)
    return str(info.value)


def test_reads_the_real_archive_in_place() -> None:
    with NemoArchive(TINY_A) as archive:
        assert not archive.compressed
        names = [m.name for m in archive.members()]
        assert names == ["./726d3e9a7c66ec7c832a03490bab2844_tokenizer.model",
                         "./7d5a32e735a1d2825e3e09785c168f54_vocab.txt", "./model_config.yaml", "./model_weights.ckpt"]
        config = archive.config()
        assert config["encoder"]["n_layers"] == 2 and config["encoder"]["d_model"] == 64
        assert archive.tokenizer() == (FIXTURES / "models" / "tiny-a" / "tokenizer.model").read_bytes()
        weights = archive.find("model_weights.ckpt")
        assert weights is not None and archive.find("./model_weights.ckpt") == weights
        with open(TINY_A, "rb") as raw:
            raw.seek(weights.offset_data)
            expected = raw.read(weights.size)
        with archive.open_member("model_weights.ckpt") as member:
            assert member.seekable()
            member.seek(weights.size - 10)
            assert member.read() == expected[-10:]
            member.seek(0)
            assert member.read() == expected


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz"])
def test_compressed_copy_reads_the_same(tmp_path: Path, mode: str) -> None:
    with tarfile.open(TINY_A) as source:
        members = [(info, source.extractfile(info).read()) for info in source]
    copy = write_tar(tmp_path / "copy.nemo", members, mode)
    with NemoArchive(TINY_A) as plain, NemoArchive(copy) as packed:
        assert packed.compressed
        assert packed.config() == plain.config()
        assert packed.tokenizer() == plain.tokenizer()
        with plain.open_member("model_weights.ckpt") as a, packed.open_member("model_weights.ckpt") as b:
            assert b.seekable() and b.read() == a.read()


def test_read_nemo_archive_gives_config_and_tokenizer() -> None:
    config, tokenizer = read_nemo_archive(TINY_A)
    assert config["tokenizer"]["model_path"].startswith("nemo:")
    assert tokenizer == (FIXTURES / "models" / "tiny-a" / "tokenizer.model").read_bytes()


def test_config_references_are_resolved_and_nemo_folder_layout_accepted(tmp_path: Path) -> None:
    source = tmp_path / "saved"
    source.mkdir()
    (source / "model_config.yaml").write_text(yaml.safe_dump({"model": CONFIG}))
    (source / TOKENIZER_NAME).write_bytes(b"spm")
    (source / "model_weights.ckpt").write_bytes(b"PK")
    with tarfile.open(tmp_path / "m.nemo", "w:") as tar:
        tar.add(source, arcname=".")
    with NemoArchive(tmp_path / "m.nemo") as archive:
        assert archive.config()["encoder"]["feat_in"] == 80
        assert archive.tokenizer() == b"spm"
        assert {m.name for m in archive.members()} == {"./model_config.yaml", f"./{TOKENIZER_NAME}",
                                                       "./model_weights.ckpt"}


def test_tokenizer_named_by_the_config_wins(tmp_path: Path) -> None:
    members = [*nemo_members(), (file_info("./other_tokenizer.model", 5), b"other")]
    with NemoArchive(write_tar(tmp_path / "m.nemo", members)) as archive:
        assert archive.tokenizer() == b"sentencepiece model"


def test_single_tokenizer_used_when_config_names_none(tmp_path: Path) -> None:
    config = {**CONFIG, "tokenizer": {"type": "bpe"}}
    with NemoArchive(make_nemo(tmp_path / "m.nemo", config=config)) as archive:
        assert archive.tokenizer() == b"sentencepiece model"


def test_ambiguous_or_missing_tokenizer(tmp_path: Path) -> None:
    config = {**CONFIG, "tokenizer": {"type": "bpe"}}
    members = [*nemo_members(config), (file_info("./other_tokenizer.model", 5), b"other")]
    with NemoArchive(write_tar(tmp_path / "two.nemo", members)) as archive, pytest.raises(NemoArchiveError) as info:
        archive.tokenizer()
    assert "several tokenizers" in str(info.value)
    members = [m for m in nemo_members(config) if not m[0].name.endswith("tokenizer.model")]
    with NemoArchive(write_tar(tmp_path / "none.nemo", members)) as archive, pytest.raises(NemoArchiveError) as info:
        archive.tokenizer()
    assert "no SentencePiece tokenizer" in str(info.value)


@pytest.mark.parametrize(("member", "expected"), [
    (file_info("../evil", 4), "leaves the archive (../evil)"),
    (file_info("./sub/../../evil", 4), "leaves the archive"),
    (file_info("/etc/evil", 4), "absolute path (/etc/evil)"),
    (file_info("C:/evil", 4), "absolute path"),
    (file_info("./link", kind=tarfile.SYMTYPE, linkname="/etc/passwd"), "symbolic link (./link -> /etc/passwd)"),
    (file_info("./hard", kind=tarfile.LNKTYPE, linkname="./model_config.yaml"), "hard link"),
    (file_info("./dev", kind=tarfile.CHRTYPE), "device file"),
    (file_info("./blk", kind=tarfile.BLKTYPE), "device file"),
    (file_info("./fifo", kind=tarfile.FIFOTYPE), "FIFO"),
    (file_info("./model_config.yaml", 4), "model_config.yaml twice"),
])
def test_hostile_member_is_refused(workdir: Path, member: tarfile.TarInfo, expected: str) -> None:
    data = b"evil" if member.isreg() else b""
    path = write_tar(workdir.parent / "m.nemo", [*nemo_members(), (member, data)])
    message = refusal(path)
    assert expected in message and "refusing to read it" in message and "Download the .nemo" in message
    assert not (workdir.parent / "evil").exists()


def test_member_over_the_limit(workdir: Path) -> None:
    path = make_nemo(workdir.parent / "m.nemo", checkpoint=b"x" * 5000)
    assert "model_weights.ckpt is 5,000 bytes, more than the 4,096 bytes" in refusal(path, max_total_bytes=4096)
    assert "holds more than 5,100 bytes" in refusal(path, max_total_bytes=5100)
    NemoArchive(path, max_total_bytes=6000).close()


def test_config_over_its_limit(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nemo_archive, "MAX_CONFIG_BYTES", 10)
    assert "model_config.yaml is" in refusal(make_nemo(workdir.parent / "m.nemo"))


def test_tokenizer_over_its_limit(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nemo_archive, "MAX_TOKENIZER_BYTES", 10)
    assert f"{TOKENIZER_NAME} is 19 bytes" in refusal(make_nemo(workdir.parent / "m.nemo"))


@pytest.mark.parametrize(("cut", "expected"), [
    ("in_data", "its member ./model_weights.ckpt ends past the end of the file"),
    ("at_member", "does not end with the tar end-of-archive block"),
    ("in_header", "does not end with the tar end-of-archive block"),
])
def test_truncated_archive(workdir: Path, cut: str, expected: str) -> None:
    path = make_nemo(workdir.parent / "m.nemo", checkpoint=os.urandom(3000))
    with tarfile.open(path) as tar:
        weights = tar.getmember("./model_weights.ckpt")
    data = path.read_bytes()
    end = {"in_data": weights.offset_data + 1000, "at_member": weights.offset, "in_header": weights.offset + 100}[cut]
    path.write_bytes(data[:end])
    message = refusal(path)
    assert "is damaged or truncated" in message and expected in message


def test_truncated_compressed_archive(workdir: Path) -> None:
    path = make_nemo(workdir.parent / "m.nemo", checkpoint=os.urandom(30000), mode="w:gz")
    path.write_bytes(path.read_bytes()[:-5000])
    assert "not a readable .nemo archive" in refusal(path)


def test_trailing_garbage(workdir: Path) -> None:
    path = make_nemo(workdir.parent / "m.nemo")
    data = path.read_bytes().rstrip(b"\0")
    path.write_bytes(data + b"\0" * (-len(data) % 512) + os.urandom(1024))
    assert "end-of-archive block" in refusal(path)


def test_zip_renamed_to_nemo(workdir: Path) -> None:
    path = workdir.parent / "m.nemo"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model_config.yaml", yaml.safe_dump(CONFIG))
    assert "not a readable .nemo archive" in refusal(path)


@pytest.mark.parametrize("content", [b"", os.urandom(4096), b"\x1f\x8b" + os.urandom(100), b"BZh" + os.urandom(50)])
def test_not_a_tar(workdir: Path, content: bytes) -> None:
    path = workdir.parent / "m.nemo"
    path.write_bytes(content)
    message = refusal(path)
    assert "not a readable .nemo archive" in message or "holds no model_config.yaml" in message


def test_missing_file(tmp_path: Path) -> None:
    assert "cannot be opened" in refusal(tmp_path / "absent.nemo")


def test_missing_config(workdir: Path) -> None:
    members = [m for m in nemo_members() if not m[0].name.endswith(".yaml")]
    assert "holds no model_config.yaml" in refusal(write_tar(workdir.parent / "m.nemo", members))


@pytest.mark.parametrize(("config", "expected"), [
    (b"[1, 2, 3]\n", "model_config.yaml is not a mapping"),
    (b"just text\n", "model_config.yaml is not a mapping"),
    (b"!!python/object/apply:os.system ['touch pwned']\n", "unreadable model_config.yaml"),
    (b"a: [1\n", "unreadable model_config.yaml"),
    (b"a: ${a}\n", "refers to itself"),
])
def test_bad_config(workdir: Path, config: bytes, expected: str) -> None:
    path = write_tar(workdir.parent / "m.nemo", nemo_members(config))
    with NemoArchive(path) as archive, pytest.raises(NemoArchiveError) as info:
        archive.config()
    assert expected in str(info.value)
    with pytest.raises(NemoArchiveError):
        read_nemo_archive(path)
    assert not (workdir / "pwned").exists()


def test_open_member_that_is_absent(tmp_path: Path) -> None:
    with NemoArchive(make_nemo(tmp_path / "m.nemo")) as archive, pytest.raises(NemoArchiveError) as info:
        archive.open_member("nothing.bin")
    assert "holds no nothing.bin" in str(info.value)


def test_same_base_name_in_two_folders_is_ambiguous(tmp_path: Path) -> None:
    members = [*nemo_members(), (file_info("./a/model_weights.ckpt", 2), b"PK")]
    with NemoArchive(write_tar(tmp_path / "m.nemo", members)) as archive:
        assert archive.find("./model_weights.ckpt") is not None
        with pytest.raises(NemoArchiveError, match=r"several files named model_weights\.ckpt"):
            archive.find("weights/model_weights.ckpt")


def test_config_bombs_are_refused_quickly(tmp_path: Path) -> None:
    """YAML aliases and multiplying ``${...}`` references cannot make parsing a config explode."""
    from captioner.asr.errors import ModelFolderError
    from captioner.asr.nemo_config import parse_config

    aliases = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9))
    with pytest.raises(ModelFolderError, match="aliases are not allowed"):
        parse_config(aliases, tmp_path / "m.nemo")
    references = "a: [1, 2, 3, 4, 5, 6, 7, 8]\n" + "".join(
        f"r{i}: ['${{{'a' if i == 0 else f'r{i - 1}'}}}', '${{{'a' if i == 0 else f'r{i - 1}'}}}', "
        f"'${{{'a' if i == 0 else f'r{i - 1}'}}}', '${{{'a' if i == 0 else f'r{i - 1}'}}}']\n" for i in range(20))
    with pytest.raises(ModelFolderError, match="expands to more than"):
        parse_config(references, tmp_path / "m.nemo")


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, produced as they are read (a 40 MB member without 40 MB in memory)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def test_a_compressed_archive_that_would_unpack_to_far_more_than_its_size_is_refused_at_once(tmp_path: Path) -> None:
    """A small gzip whose padding member unpacks to 40 MB of zeros: refused from the member headers, before any
    of that padding is decompressed; real weights barely compress, so a real model never comes near the limit."""
    path = tmp_path / "padded.nemo"
    padding = 40 * 2**20
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(file_info("./0padding.bin", padding), io.BufferedReader(_Zeros(padding)))
        for info, data in nemo_members():
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    assert path.stat().st_size < 200_000
    message = refusal(path)
    assert "times that" in message and "0padding.bin" in message
