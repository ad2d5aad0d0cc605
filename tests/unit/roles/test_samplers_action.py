"""The controller side of collector_samplers: what it unpacks, and what it refuses."""

from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "plugins" / "action"))

from collector_samplers import unpack


def archive(members: dict[str, bytes], link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo("s/link")
            info.type = tarfile.SYMTYPE
            info.linkname = link
            tar.addfile(info)
    return buffer.getvalue()


def test_files_land_under_the_hosts_raw_directory(tmp_path):
    names = unpack(archive({"s/output": b"1 2 3\n", "s/status.json": b"{}"}), tmp_path / "raw")
    assert sorted(names) == ["s/output", "s/status.json"]
    assert (tmp_path / "raw" / "s" / "output").read_bytes() == b"1 2 3\n"


def test_a_path_out_of_the_directory_is_refused(tmp_path):
    with pytest.raises(tarfile.TarError):
        unpack(archive({"../escaped": b"x"}), tmp_path / "raw")
    assert not (tmp_path / "escaped").exists()


def test_links_are_not_unpacked(tmp_path):
    names = unpack(archive({"s/output": b"x"}, link="/etc/passwd"), tmp_path / "raw")
    assert names == ["s/output"]
    assert not (tmp_path / "raw" / "s" / "link").exists()
