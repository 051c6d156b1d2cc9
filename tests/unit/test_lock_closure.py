"""lock.closure: PEP 751 ``dependencies`` must name entries of the lock (read offline).

On the PEP 751 spec's own example lock (``tests/data/pylock``) and on edits of it.
"""

from __future__ import annotations

import re

import pytest
from packaging.pylock import Pylock

from cudaenv import lock
from cudaenv._toml import tomllib
from cudaenv.lock import NotClosedError, check_references
from cudaenv.request import Target


@pytest.fixture
def spec_text(data_dir) -> str:
    return (data_dir / "pylock" / "pylock.spec-example.toml").read_text()


def _pylock(text: str) -> Pylock:
    return Pylock.from_dict(tomllib.loads(text))


def _without(text: str, name: str) -> str:
    tables = re.split(r"(?m)^(?=\[\[packages\]\]$|\[tool\.)", text)
    kept = [t for t in tables if f"name = '{name}'\n" not in t.split("\n", 2)[1] + "\n"]
    assert len(kept) == len(tables) - 1
    return "".join(kept)


def test_the_spec_example_is_closed(spec_text: str) -> None:
    check_references(_pylock(spec_text), "pylock.toml")


def test_a_dependency_the_lock_lacks_is_named(spec_text: str) -> None:
    with pytest.raises(NotClosedError) as err:
        check_references(_pylock(_without(spec_text, "attrs")), "pylock.toml")
    assert err.value.message == (
        "pylock.toml is not complete: cattrs 24.1.2 depends on attrs, which the lock does not hold"
    )
    assert err.value.reference == "lock-not-closed"
    assert "`cudaenv lock`" in (err.value.hint or "")


def test_a_reference_by_version_must_match_that_version(spec_text: str) -> None:
    pinned = spec_text.replace("{name = 'attrs'}", "{name = 'attrs', version = '24.0.0'}")
    with pytest.raises(NotClosedError, match=re.escape("depends on attrs 24.0.0, which")):
        check_references(_pylock(pinned), "pylock.toml")
    right = spec_text.replace("{name = 'attrs'}", "{name = 'attrs', version = '25.1.0'}")
    check_references(_pylock(right), "pylock.toml")


def test_reading_a_lock_checks_it(tmp_path, spec_text: str) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(_without(spec_text, "attrs"))
    with pytest.raises(NotClosedError):
        lock.read(path, target=Target.from_strings("3.12", "manylinux_2_28_x86_64"))


def test_a_lock_that_records_edges_has_none_where_it_leaves_the_key_out(spec_text: str) -> None:
    target = Target.from_strings("3.12", "manylinux_2_28_x86_64")
    r = lock.loads(spec_text, target=target).resolution
    assert r.pin("cattrs").dependencies == ("attrs",)
    assert r.pin("attrs").dependencies == ()
    assert r.pin("numpy").dependencies == ()
    bare = spec_text.replace("dependencies = [\n    {name = 'attrs'},\n]\n", "")
    r = lock.loads(bare, target=target).resolution
    assert all(p.dependencies is None for p in r.pins), "nothing known: METADATA decides"
