"""The user's index settings reach the solve: a local index named by one setting alone serves it.

Each case names the test index (tests/cases/solve, served on 127.0.0.1) by exactly one of the
settings pip and uv read (a flag, an environment variable, a configuration file) and runs
``cudaenv solve``; the index's own request log must show the solve's requests, and ``--json``
must say that every package came from it. The machine's own settings never take part: the
suite's ``no_index_settings`` fixture removes them, and these tests point HOME and the XDG
folders at empty temporary ones before writing the one file a case needs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.functional.solve_index import own_solve_server, solve_server  # noqa: F401  (fixtures)
from tests.functional.test_solve import PLATFORM
from tests.tools.index_server import IndexServer
from tests.tools.make_wheel import make_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator

REQUEST = ("--spacy", "3.7", "--cpu", "--python", "3.11", "--platform", PLATFORM)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME, XDG_CONFIG_HOME and XDG_CONFIG_DIRS, and an empty working directory."""
    home = tmp_path / "home"
    for folder in ("home/.config", "etc-xdg", "work"):
        (tmp_path / folder).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "etc-xdg"))
    monkeypatch.chdir(tmp_path / "work")
    return home


@pytest.fixture(scope="module")
def empty_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """An index with no projects: the default index of the cases that name only extra indexes
    or find-links (PyPI would be the default otherwise, and tests stay off the network)."""
    with IndexServer(tmp_path_factory.mktemp("empty"), shared=True) as server:
        yield server


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _pip_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIP_CONFIG_FILE")


def _uv_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UV_NO_CONFIG")


# Each case: (name it for the test index, whether the default index is the empty one). ``url``
# is the test index's URL; ``home`` the empty HOME of the ``home`` fixture.
Case = Callable[[str, Path, pytest.MonkeyPatch], list[str]]


def _flag(flag: str) -> Case:
    return lambda url, home, mp: [flag, url]


def _env(name: str, value: str = "{url}") -> Case:
    def case(url: str, home: Path, mp: pytest.MonkeyPatch) -> list[str]:
        mp.setenv(name, value.format(url=url))
        return []

    return case


def _pip_conf(where: str, text: str = "[global]\nindex-url = {url}\n") -> Case:
    def case(url: str, home: Path, mp: pytest.MonkeyPatch) -> list[str]:
        _pip_files(mp)
        path = {
            "user": home / ".config/pip/pip.conf",
            "legacy-user": home / ".pip/pip.conf",
            "global": Path(os.environ["XDG_CONFIG_DIRS"]) / "pip/pip.conf",
        }.get(where)
        if path is None:  # PIP_CONFIG_FILE
            path = home / "named.conf"
            mp.setenv("PIP_CONFIG_FILE", str(path))
        _write(path, text.format(url=url))
        return []

    return case


def _uv_toml(where: str, text: str = 'index-url = "{url}"\n') -> Case:
    def case(url: str, home: Path, mp: pytest.MonkeyPatch) -> list[str]:
        _uv_files(mp)
        path = {
            "user": home / ".config/uv/uv.toml",
            "system": Path(os.environ["XDG_CONFIG_DIRS"]) / "uv/uv.toml",
            "project": Path.cwd() / "uv.toml",
            "pyproject": Path.cwd() / "pyproject.toml",
        }.get(where)
        if path is None:  # UV_CONFIG_FILE
            path = home / "named.toml"
            mp.setenv("UV_CONFIG_FILE", str(path))
        _write(path, text.format(url=url))
        return []

    return case


INDEX_CASES: dict[str, tuple[Case, bool]] = {
    "--index-url": (_flag("--index-url"), False),
    "--extra-index-url": (_flag("--extra-index-url"), True),
    "PIP_INDEX_URL": (_env("PIP_INDEX_URL"), False),
    "PIP_EXTRA_INDEX_URL": (_env("PIP_EXTRA_INDEX_URL"), True),
    "UV_INDEX_URL": (_env("UV_INDEX_URL"), False),
    "UV_DEFAULT_INDEX": (_env("UV_DEFAULT_INDEX"), False),
    "UV_INDEX": (_env("UV_INDEX", "private={url}"), True),
    "UV_EXTRA_INDEX_URL": (_env("UV_EXTRA_INDEX_URL"), True),
    "PIP_CONFIG_FILE": (_pip_conf("named"), False),
    "pip.conf (global, XDG_CONFIG_DIRS)": (_pip_conf("global"), False),
    "pip.conf (user)": (_pip_conf("user"), False),
    "pip.conf (legacy user, ~/.pip)": (_pip_conf("legacy-user"), False),
    "pip.conf [install] extra-index-url": (
        _pip_conf("user", "[install]\nextra-index-url = {url}\n"),
        True,
    ),
    "uv.toml (user)": (_uv_toml("user"), False),
    "uv.toml (system)": (_uv_toml("system"), False),
    "uv.toml (project)": (_uv_toml("project", 'extra-index-url = ["{url}"]\n'), True),
    "UV_CONFIG_FILE [[index]] default": (
        _uv_toml("named", '[[index]]\nname = "mine"\nurl = "{url}"\ndefault = true\n'),
        False,
    ),
    "pyproject.toml [tool.uv] [[tool.uv.index]]": (
        _uv_toml("pyproject", '[project]\nname = "x"\n\n[[tool.uv.index]]\nurl = "{url}"\n'),
        True,
    ),
}


@pytest.mark.parametrize("setting", list(INDEX_CASES))
def test_an_index_named_by_one_setting_serves_the_solve(
    setting: str,
    own_solve_server: IndexServer,  # noqa: F811
    empty_index: IndexServer,
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli,
) -> None:
    name_it, needs_default = INDEX_CASES[setting]
    args = name_it(own_solve_server.url, home, monkeypatch)
    if needs_default:
        args += ["--index-url", empty_index.url]
    r = cli("solve", *REQUEST, *args, "--cache-dir", str(tmp_path / "cache"), "--json")
    assert r.code == 0, r.err
    assert own_solve_server.count("/simple/spacy/") >= 1  # the solve asked the index named
    packages = json.loads(r.out)["packages"]
    assert packages and {p["index"] for p in packages} == {own_solve_server.url}
    assert all(p["wheel"]["url"].startswith(own_solve_server.base) for p in packages)


@pytest.fixture
def links_page(own_solve_server: IndexServer) -> str:  # noqa: F811
    return f"{own_solve_server.base}/links/"


FIND_LINKS_CASES: dict[str, Case] = {
    "--find-links": _flag("--find-links"),
    "PIP_FIND_LINKS": _env("PIP_FIND_LINKS"),
    "UV_FIND_LINKS": _env("UV_FIND_LINKS"),
    "pip.conf find-links": _pip_conf("user", "[global]\nfind-links = {url}\n"),
    "uv.toml find-links": _uv_toml("user", 'find-links = ["{url}"]\n'),
}


@pytest.mark.parametrize("setting", list(FIND_LINKS_CASES))
def test_a_find_links_page_named_by_one_setting_serves_the_solve(
    setting: str,
    own_solve_server: IndexServer,  # noqa: F811
    empty_index: IndexServer,
    links_page: str,
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli,
) -> None:
    args = FIND_LINKS_CASES[setting](links_page, home, monkeypatch)
    r = cli(
        "solve", *REQUEST, *args, "--index-url", empty_index.url,
        "--cache-dir", str(tmp_path / "cache"), "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert own_solve_server.count("/links/") == 1  # one page of links, read once for all projects
    assert own_solve_server.count("/simple/") == 0
    packages = json.loads(r.out)["packages"]
    assert packages and {p["index"] for p in packages} == {None}  # no index: find-links
    assert all(p["wheel"]["url"].startswith(f"{own_solve_server.base}/files/") for p in packages)


def test_a_find_links_folder_is_locked_by_file_url_and_hash(
    solve_server: IndexServer,  # noqa: F811
    empty_index: IndexServer,
    tmp_path: Path,
    cli,
) -> None:
    folder = solve_server.root
    out = tmp_path / "pylock.toml"
    r = cli(
        "lock", *REQUEST, "--find-links", str(folder), "--index-url", empty_index.url,
        "--cache-dir", str(tmp_path / "cache"), "-o", str(out),
    )  # fmt: skip
    assert r.code == 0, r.err
    from cudaenv import lock

    pins = lock.read(out).pins
    assert pins and all(p.wheel.url.startswith(folder.as_uri() + "/") for p in pins)
    assert all(p.index == "" for p in pins)  # locked without an index
    spacy = next(p for p in pins if p.name == "spacy")
    import hashlib

    local = folder / spacy.wheel.filename
    assert spacy.wheel.sha256 == hashlib.sha256(local.read_bytes()).hexdigest()
    assert "from find-links: " in r.out


def test_a_file_index_folder_serves_the_solve_and_a_missing_one_is_skipped(
    own_solve_server: IndexServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    cli,
) -> None:
    """A PEP 503 folder named as file:// (this is how a pip.conf often names a local mirror);
    one that does not exist is skipped with a warning, as pip skips it."""
    simple = own_solve_server.write_static(tmp_path / "mirror")
    missing = (tmp_path / "gone" / "simple").as_uri()
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", f"{missing} {simple.as_uri()}")
    r = cli(
        "solve", *REQUEST, "--index-url", simple.as_uri(),
        "--cache-dir", str(tmp_path / "cache"), "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert own_solve_server.requests == []
    packages = json.loads(r.out)["packages"]
    assert {p["index"] for p in packages} == {simple.as_uri()}
    assert all(p["wheel"]["url"].startswith((tmp_path / "mirror/files").as_uri()) for p in packages)
    said = [m for m in caplog.messages if missing in m]  # a warning (stderr, outside pytest)
    assert said and "does not exist: skipped" in said[0]


def _spacy_only(dest: Path, version: str) -> IndexServer:
    make_wheel(dest, "spacy", version)
    return IndexServer(dest).start()


def test_first_index_rule_a_public_index_never_shadows_a_private_one(
    solve_server: IndexServer,  # noqa: F811
    tmp_path: Path,
    cli,
) -> None:
    """The private index (an extra index) has spacy 3.7.5; a public index (the default) has a
    newer spacy 3.7.99: the project comes from the first index that has it, whatever the
    version elsewhere; the public index is not even asked for it. pip's rule (the best version
    on any index) takes 3.7.99, and only when asked for."""
    public = _spacy_only(tmp_path / "public", "3.7.99")
    try:
        common = ("--index-url", public.url, "--cache-dir", str(tmp_path / "c"), "--json")
        r = cli("solve", *REQUEST, "--extra-index-url", solve_server.url, *common)
        assert r.code == 0, r.err
        spacy = next(p for p in json.loads(r.out)["packages"] if p["name"] == "spacy")
        assert (spacy["version"], spacy["index"]) == ("3.7.5", solve_server.url)
        assert public.count("/simple/spacy/") == 0
        best = cli(
            "solve", *REQUEST, "--extra-index-url", solve_server.url,
            "--index-strategy", "unsafe-best-match", *common,
        )  # fmt: skip
        assert best.code == 0, best.err
        spacy = next(p for p in json.loads(best.out)["packages"] if p["name"] == "spacy")
        assert (spacy["version"], spacy["index"]) == ("3.7.99", public.url)
    finally:
        public.stop()
