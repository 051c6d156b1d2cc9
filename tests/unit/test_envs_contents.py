"""envs.contents: what a prefix holds, what the records account for, how the rest is named."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cudaenv.envs import contents

if TYPE_CHECKING:
    from pathlib import Path


def test_files_are_leaves_and_links_are_never_followed(tmp_path: Path) -> None:
    (tmp_path / "lib/python3.11/site-packages/pkg").mkdir(parents=True)
    (tmp_path / "lib/python3.11/site-packages/pkg/__init__.py").write_text("")
    (tmp_path / "lib64").symlink_to("lib")
    (tmp_path / "outside").mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/python").symlink_to("/usr/bin/python3")
    found = contents.files(tmp_path)
    assert "lib/python3.11/site-packages/pkg/__init__.py" in found
    assert {"lib64", "bin/python"} <= found  # links, as leaves
    assert not any(p.startswith("lib64/") for p in found)
    assert "empty" not in found and "outside" not in found  # empty folders hold nothing


def test_records_account_for_files_relative_to_their_folder(tmp_path: Path) -> None:
    site = tmp_path / "lib/python3.11/site-packages"
    info = site / "tool-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "RECORD").write_text(
        "tool/__init__.py,sha256=x,1\n../../../bin/tool,sha256=y,2\ntool-1.0.dist-info/RECORD,,\n"
    )
    assert contents.dist_infos(tmp_path) == [info]
    assert contents.by_packages(tmp_path, [info]) == {
        "lib/python3.11/site-packages/tool/__init__.py",
        "bin/tool",
        "lib/python3.11/site-packages/tool-1.0.dist-info/RECORD",
    }


def test_bytecode_goes_with_its_source_and_a_foreign_folder_is_named_once() -> None:
    accounted = {"lib/site/pkg/mod.py", "bin/python"}
    present = [
        "lib/site/pkg/mod.py",
        "lib/site/pkg/__pycache__/mod.cpython-311.pyc",
        "lib/site/pkg/__pycache__/mine.cpython-311.pyc",
        "lib/site/mine/a.py",
        "lib/site/mine/b.py",
        "bin/mytool",
        "bin/python",
    ]
    foreign = contents.unaccounted(present, accounted)
    assert foreign == [
        "bin/mytool",
        "lib/site/mine/a.py",
        "lib/site/mine/b.py",
        "lib/site/pkg/__pycache__/mine.cpython-311.pyc",
    ]
    assert contents.shown(foreign, present) == [
        "bin/mytool",
        "lib/site/mine/",
        "lib/site/pkg/__pycache__/mine.cpython-311.pyc",  # its folder holds cudaenv's too
    ]
