"""Index settings: which layer wins, and pip's and uv's files read as the tools read them.

Real files in temporary folders, an explicit environment (never this machine's), and the
working directory given, so nothing of the machine running the tests takes part (except
``/etc/pip.conf``, which pip always reads: nothing here depends on it).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from cudaenv import settings
from cudaenv.errors import UsageError
from cudaenv.settings import BEST_MATCH, FIRST_INDEX, PYPI, pipconf, uvconf

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    for folder in ("home/.config", "xdg", "work"):
        (tmp_path / folder).mkdir(parents=True)
    return {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "home/.config"),
        "XDG_CONFIG_DIRS": str(tmp_path / "xdg"),
    }


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _read(env: dict[str, str], tmp_path: Path, **flags: object) -> settings.IndexSettings:
    return settings.read(environ=env, cwd=tmp_path / "work", **flags)  # type: ignore[arg-type]


def test_nothing_set_is_pypi_alone(env, tmp_path) -> None:
    found = _read(env, tmp_path)
    assert found.default.url == PYPI and found.extras == () and found.find_links == ()
    assert found.strategy == FIRST_INDEX


def test_each_setting_from_the_first_layer_that_sets_it(env, tmp_path) -> None:
    _write(tmp_path / "home/.config/pip/pip.conf", "[global]\nindex-url = https://pip.conf/s\n")
    env |= {
        "PIP_EXTRA_INDEX_URL": "https://pip-env/a https://pip-env/b",
        "UV_INDEX_URL": "https://uv-env/s",
        "UV_EXTRA_INDEX_URL": "https://uv-env/x",
    }
    found = _read(env, tmp_path, find_links=["/srv/wheels"])
    assert (found.default.url, found.default.origin) == ("https://uv-env/s", "UV_INDEX_URL")
    assert [x.url for x in found.extras] == ["https://pip-env/a", "https://pip-env/b"]
    assert [x.url for x in found.find_links] == ["file:///srv/wheels"]
    assert found.indexes[-1] == found.default  # searched last
    flagged = _read(env, tmp_path, index_url="https://flag/simple/")
    assert (flagged.default.url, flagged.default.origin) == ("https://flag/simple", "--index-url")


def test_pip_files_in_pips_order(env, tmp_path) -> None:
    xdg, user = tmp_path / "xdg/pip/pip.conf", tmp_path / "home/.config/pip/pip.conf"
    legacy = tmp_path / "home/.pip/pip.conf"
    _write(xdg, "[global]\nindex-url = https://global/s\nfind-links = /g\n")
    assert _read(env, tmp_path).default.url == "https://global/s"
    _write(legacy, "[global]\nindex-url = https://legacy/s\n")
    _write(user, "[global]\nindex-url = https://user/s\n")
    found = _read(env, tmp_path)
    assert (found.default.url, found.default.origin) == ("https://user/s", str(user))
    assert [x.url for x in found.find_links] == ["file:///g"]  # other keys stay
    _write(xdg, "[install]\nindex-url = https://install-section/s\n")
    assert _read(env, tmp_path).default.url == "https://install-section/s"  # beats [global]
    named = _write(tmp_path / "named.conf", "[global]\nextra-index-url = https://named/s\n")
    with_named = _read(env | {"PIP_CONFIG_FILE": str(named)}, tmp_path)
    assert with_named.default.url == "https://install-section/s"  # the user file is skipped
    assert [x.url for x in with_named.extras] == ["https://named/s"]
    assert _read(env | {"PIP_CONFIG_FILE": os.devnull}, tmp_path).default.url == PYPI
    assert pipconf.config_files(env | {"PIP_CONFIG_FILE": os.devnull}) == []


def test_uv_files_merge_project_user_system(env, tmp_path) -> None:
    system = _write(tmp_path / "xdg/uv/uv.toml", 'index-url = "https://system/s"\n')
    _write(
        tmp_path / "home/.config/uv/uv.toml",
        'extra-index-url = ["https://user/x"]\nfind-links = ["wheels"]\n',
    )
    _write(tmp_path / "uv.toml", 'extra-index-url = ["https://project/x"]\n')  # a parent
    found = _read(env, tmp_path)
    assert (found.default.url, found.default.origin) == ("https://system/s", str(system))
    assert [x.url for x in found.extras] == ["https://project/x", "https://user/x"]
    assert [x.url for x in found.find_links] == [(tmp_path / "home/.config/uv/wheels").as_uri()]
    assert found.strategy == FIRST_INDEX  # uv's rule for uv's indexes
    only = _write(tmp_path / "only.toml", '[pip]\nindex-url = "https://pip-table/s"\n')
    alone = _read(env | {"UV_CONFIG_FILE": str(only)}, tmp_path)
    assert (alone.default.url, alone.extras) == ("https://pip-table/s", ())
    assert uvconf.config_files(env | {"UV_NO_CONFIG": "1"}, tmp_path / "work") == []


def test_uv_index_tables(env, tmp_path) -> None:
    _write(
        tmp_path / "work/pyproject.toml",
        """[project]
name = "x"

[tool.uv]
extra-index-url = ["https://extra/s"]

[[tool.uv.index]]
name = "private"
url = "https://private/s"

[[tool.uv.index]]
name = "pinned-only"
url = "https://explicit/s"
explicit = true

[[tool.uv.index]]
url = "https://mirror/s"
default = true
""",
    )
    found = _read(env, tmp_path)
    assert found.default.url == "https://mirror/s"
    assert [x.url for x in found.extras] == ["https://private/s", "https://extra/s"]


def test_a_pyproject_without_tool_uv_is_not_a_uv_file(env, tmp_path) -> None:
    _write(tmp_path / "work/pyproject.toml", '[project]\nname = "x"\n')
    assert uvconf.config_files(env, tmp_path / "work") == []


def test_uv_environment(env, tmp_path) -> None:
    env |= {
        "UV_DEFAULT_INDEX": "mirror=https://default/s",
        "UV_INDEX_URL": "https://older/s",
        "UV_INDEX": "a=https://a/s https://b/s",
        "UV_EXTRA_INDEX_URL": "https://c/s",
        "UV_FIND_LINKS": "/w1,/w2",
    }
    found = _read(env, tmp_path)
    assert found.default.url == "https://default/s"
    assert [x.url for x in found.extras] == ["https://a/s", "https://b/s", "https://c/s"]
    assert [x.url for x in found.find_links] == ["file:///w1", "file:///w2"]


def test_strategy(env, tmp_path) -> None:
    pip_extra = env | {"PIP_EXTRA_INDEX_URL": "https://extra/s"}
    assert _read(pip_extra, tmp_path).strategy == BEST_MATCH  # pip's rule for pip's extras
    assert _read(pip_extra, tmp_path, strategy=FIRST_INDEX).strategy == FIRST_INDEX
    chosen = _read(pip_extra | {"UV_INDEX_STRATEGY": FIRST_INDEX}, tmp_path)
    assert (chosen.strategy, chosen.strategy_origin) == (FIRST_INDEX, "UV_INDEX_STRATEGY")
    assert _read(env | {"UV_INDEX": "https://extra/s"}, tmp_path).strategy == FIRST_INDEX
    with pytest.raises(UsageError) as bad:
        _read(env | {"UV_INDEX_STRATEGY": "unsafe-first-match"}, tmp_path)
    assert "--index-strategy first-index" in (bad.value.hint or "")


def test_describe_hides_credentials(env, tmp_path) -> None:
    env["PIP_INDEX_URL"] = "https://alice:s3cret@private/simple"
    lines = _read(env, tmp_path).describe()
    assert lines == ["index: https://private/simple (PIP_INDEX_URL)"]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("not-a-url", "is neither an http(s) URL nor a folder on this machine"),
        ("ftp://mirror/simple", "is neither an http(s) URL nor a folder on this machine"),
        ("https://", "is not a URL with a host"),
        ("file:///no/such/folder", "names no folder that exists"),
    ],
)
def test_an_index_flag_that_names_no_index_is_refused_before_any_request(
    env, tmp_path, value, why
) -> None:
    for flag in ("index_url", "extra_index_urls"):
        given = {flag: value} if flag == "index_url" else {flag: [value]}
        with pytest.raises(UsageError) as e:
            _read(env, tmp_path, **given)
        shown = "--index-url" if flag == "index_url" else "--extra-index-url"
        assert e.value.message == f"{shown} {value!r} {why}"
        assert e.value.hint == f"give the index's URL, e.g. {shown} https://pypi.org/simple"
    (tmp_path / "mirror").mkdir()
    assert _read(env, tmp_path, index_url=str(tmp_path / "mirror")).default.url.startswith("file:")
