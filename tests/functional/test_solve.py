"""``solve`` and ``cudaenv solve`` against a real index on 127.0.0.1 serving real wheels.

The wheels repeat the real metadata of TensorFlow 2.15.x, spaCy 3.7/3.8, thinc and CuPy
(``tests/cases/solve/index.json``); the driver is given with ``--driver`` (no GPU here).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import pytest
from packaging.version import Version

from cudaenv import knowledge
from cudaenv.errors import IndexError_, ResolutionError
from cudaenv.index import Index
from cudaenv.machine import Machine, Overrides, detect
from cudaenv.request import Request
from cudaenv.solver import solve
from tests.functional.solve_index import CASE, build_index, serve
from tests.tools.make_wheel import make_sdist

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.tools.index_server import IndexServer

PLATFORM = "manylinux_2_28_x86_64"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    srv = serve(build_index(tmp_path_factory.mktemp("solve-wheels")), shared=True)
    try:
        yield srv
    finally:
        srv.stop()


def machine_for(driver: str | None, cuda: str | None = None) -> Machine:
    if driver is None and cuda is None:  # what detect() answers on a machine without a driver
        return Machine(driver_version=None, max_cuda=None, source="none")
    know = knowledge.load()
    return detect(Overrides(driver=driver, cuda=cuda), driver_to_cuda=know.max_cuda_for_driver)


def run_solve(
    url: str,
    cache: Path,
    *,
    tf: str | None = None,
    spacy: str | None = None,
    python: str = "3.11",
    driver: str | None = "535.104.05",
    cuda: str | None = None,
    pre: bool = False,
    offline: bool = False,
    events: list[object] | None = None,
):
    request = Request.from_args(tf=tf, spacy=spacy, python=python, platform=PLATFORM, pre=pre)
    with Index(url, cache_dir=cache, offline=offline, platform=PLATFORM) as index:
        on_event = events.append if events is not None else None
        return solve(request, machine_for(driver, cuda), knowledge.load(), index, on_event=on_event)


CASES = sorted(p for p in CASE.parent.glob("*.json") if p.name != CASE.name)


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_case_file(case: Path, server: IndexServer, tmp_path: Path) -> None:
    """tests/cases/solve/*.json: requested + machine + python -> resolved/facts or explanation."""
    doc = json.loads(case.read_text())
    machine = doc["machine"]
    args = {"python": doc["python"], "driver": machine.get("driver"), "cuda": machine.get("cuda")}
    if "explanation" in doc:
        with pytest.raises(ResolutionError) as info:
            run_solve(server.url, tmp_path, **doc["requested"], **args)
        assert info.value.explanation.sentence() == doc["explanation"]
        return
    res = run_solve(server.url, tmp_path, **doc["requested"], **args)
    got = versions(res)
    assert {name: got.get(name) for name in doc["resolved"]} == doc["resolved"]
    held = res.stack.to_table()  # the stack's facts as the lock writes them
    facts = {k: held.get(k.replace("_", "-")) for k in doc["facts"]}
    assert facts == doc["facts"]


def versions(resolution) -> dict[str, str]:
    return {p.name: str(p.version) for p in resolution.pins}


def test_tf_and_spacy_resolve_to_one_cuda_stack(server: IndexServer, tmp_path: Path) -> None:
    res = run_solve(server.url, tmp_path, tf="2.15", spacy="3.7")
    got = versions(res)
    assert got["tensorflow"] == "2.15.1"  # 2.15.0 is known-bad, 2.15.2rc0 a pre-release
    assert got["spacy"] == "3.7.5"
    assert got["thinc"] == "8.2.5"  # not the made-up 8.2.99 that needs numpy 2
    assert got["numpy"] == "1.26.4"
    assert got["cupy-cuda12x"] == "12.3.0"  # spacy[cuda12x] caps <13
    # TF's pins win over CuPy's open runtime ranges (12.4 is on the index too)
    assert got["nvidia-cuda-runtime-cu12"] == "12.2.140"
    assert got["nvidia-cusparse-cu12"] == "12.1.2.141"
    assert not [n for n in got if n.endswith("-cu11")]
    assert (res.stack.cuda, res.stack.cudnn) == (Version("12.2"), Version("8.9"))
    assert (res.stack.min_cuda, str(res.stack.driver_floor)) == (Version("12.0"), "525.60.13")
    assert res.index_url == server.url


def test_pins_carry_the_served_files_and_who_asked(server: IndexServer, tmp_path: Path) -> None:
    res = run_solve(server.url, tmp_path, tf="2.15", spacy="3.7")
    by_name = {p.name: p for p in res.pins}
    for pin in res.pins:
        dist = server.dist(pin.wheel.filename)
        assert dist is not None and dist.sha256 == pin.wheel.sha256
        assert hashlib.sha256(dist.path.read_bytes()).hexdigest() == pin.wheel.sha256
        assert "cp311" in pin.wheel.filename or "py3-none" in pin.wheel.filename
    assert by_name["tensorflow"].why == ("--tf 2.15",)
    assert by_name["tensorflow"].group == "framework"
    assert by_name["nvidia-cudnn-cu12"].why == ("tensorflow[and-cuda]==2.15.1",)
    assert by_name["nvidia-cudnn-cu12"].group == "cuda"
    assert by_name["cupy-cuda12x"].why == ("spacy[cuda12x]==3.7.5",)
    assert "recipe: cupy-cuda12x runtime libraries" in by_name["nvidia-curand-cu12"].why
    assert by_name["numpy"].group == "other"


def test_a_candidate_that_conflicts_is_rejected(server: IndexServer, tmp_path: Path) -> None:
    events: list[object] = []
    res = run_solve(server.url, tmp_path, tf="2.15", spacy="3.7", events=events)
    assert versions(res)["thinc"] == "8.2.5"
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert ("pin", "thinc", Version("8.2.5")) in [(e.kind, e.identifier, e.version) for e in events]
    assert not [e for e in events if e.kind == "pin" and e.version == Version("8.2.99")]


def test_old_driver_is_explained(server: IndexServer, tmp_path: Path) -> None:
    with pytest.raises(ResolutionError) as info:
        run_solve(server.url, tmp_path, tf="2.15", driver="470.82.01")
    assert info.value.explanation.sentence() == (
        "driver 470.82.01 supports CUDA ≤ 11.4; TensorFlow 2.15 needs CUDA ≥ 12.0 "
        "→ upgrade the driver to ≥ 525.60.13 (--driver 525.60.13 resolves for it), "
        "or use --tf 2.14"
    )


@pytest.mark.parametrize("driver", ["418.39", "440.33.01"])
def test_a_driver_older_than_the_table_is_too_old(
    server: IndexServer, tmp_path: Path, driver: str
) -> None:
    """Issue: such a driver was read as "no driver" and got a CUDA 12 stack."""
    with pytest.raises(ResolutionError) as info:
        run_solve(server.url, tmp_path, tf="2.15", spacy="3.7", driver=driver)
    assert info.value.message == (
        f"driver {driver} is older than every driver in cudaenv's table (CUDA 11.0 needs "
        "≥ 450.51.05), so it runs no CUDA stack cudaenv knows; TensorFlow 2.15 needs driver "
        "≥ 525.60.13"
    )
    assert "no NVIDIA driver" not in str(info.value.to_dict())
    assert [r.options for r in info.value.remedies] == [
        (("--driver", "525.60.13"),),
        (("--cpu", None),),
    ]


def test_a_detected_driver_older_than_the_table_is_too_old(
    server: IndexServer, tmp_path: Path, data_dir: Path
) -> None:
    """The same driver found by a probe (/proc gives a version and no max CUDA)."""
    from cudaenv.machine.probes import Host

    root = tmp_path / "root"
    proc = root / "proc" / "driver" / "nvidia"
    proc.mkdir(parents=True)
    (proc / "version").write_bytes((data_dir / "proc" / "proc-version-384.98.txt").read_bytes())
    host = Host(root=root, path=str(tmp_path / "no-bin"), nvml_names=(), cuda_names=())
    machine = detect(host=host, driver_to_cuda=knowledge.load().max_cuda_for_driver)
    assert (str(machine.driver_version), machine.source, machine.too_old) == (
        "384.98",
        "proc",
        True,
    )
    request = Request.from_args(tf="2.15", spacy=None, python="3.11", platform=PLATFORM)
    with pytest.raises(ResolutionError) as info:
        with Index(server.url, cache_dir=tmp_path, platform=PLATFORM) as index:
            solve(request, machine, knowledge.load(), index)
    assert info.value.message.startswith("driver 384.98 is older than every driver")
    assert info.value.message.endswith("TensorFlow 2.15 needs driver ≥ 525.60.13")


def test_no_driver_at_all_still_resolves_and_names_the_floor(
    server: IndexServer, tmp_path: Path
) -> None:
    res = run_solve(server.url, tmp_path, tf="2.15", driver=None)
    assert str(res.stack.driver_floor) == "525.60.13"
    assert any(n.startswith("no NVIDIA driver was detected") for n in res.notes)


def cli_solve_args(url: str, cache: Path, *request: str) -> tuple[str, ...]:
    """``cudaenv solve REQUEST...`` for Python 3.11 on PLATFORM, against *url*."""
    target = ("--python", "3.11", "--platform", PLATFORM)
    return ("solve", *request, *target, "--index-url", url, "--cache-dir", str(cache))


def test_old_driver_cli_exit_2(server: IndexServer, tmp_path: Path, cli) -> None:
    r = cli(*cli_solve_args(server.url, tmp_path, "--tf", "2.15", "--driver", "470.82.01"))
    assert r.code == 2, r.err
    assert (
        "error: driver 470.82.01 supports CUDA ≤ 11.4; TensorFlow 2.15 needs CUDA ≥ 12.0" in r.err
    )
    assert "hint: upgrade the driver to ≥ 525.60.13" in r.err
    assert "Traceback" not in r.err


def test_python_without_wheels_is_explained(server: IndexServer, tmp_path: Path) -> None:
    with pytest.raises(ResolutionError) as info:
        run_solve(server.url, tmp_path, tf="2.15", python="3.12")
    assert info.value.explanation.sentence() == (
        "TensorFlow 2.15 has no wheels for Python 3.12: it supports >=3.9,<3.12 → use --python 3.11"
    )


def test_unknown_release_lists_known_lines(server: IndexServer, tmp_path: Path) -> None:
    with pytest.raises(ResolutionError) as info:
        run_solve(server.url, tmp_path, tf="9.9")
    assert info.value.message == "TensorFlow 9.9 is not a release cudaenv knows"
    assert "2.12, 2.13, 2.14, 2.15" in info.value.context


def test_known_bad_exact_pin_says_why(server: IndexServer, tmp_path: Path) -> None:
    with pytest.raises(ResolutionError) as info:
        run_solve(server.url, tmp_path, spacy="3.7.3")
    assert info.value.message == (
        "spaCy 3.7.3 cannot be used: yanked on PyPI: Bug in multiprocessing code"
    )
    assert info.value.hint == "use --spacy 3.7 (the newest 3.7.x release that works)"


def test_an_optional_part_without_a_wheel_is_left_out_with_a_note(
    server: IndexServer, tmp_path: Path
) -> None:
    """TF 2.14.1's and-cuda pins tensorrt==8.5.3.1 (wheels up to cp310): on 3.11 the rest of
    the extra resolves and TF-TRT is said to be unavailable; on 3.10 TensorRT is pinned."""
    res = run_solve(server.url, tmp_path, tf="2.14")
    got = versions(res)
    assert (got["tensorflow"], got["nvidia-cudnn-cu11"]) == ("2.14.1", "8.7.0.84")
    assert "tensorrt" not in got
    assert (
        "TF-TRT (tf.experimental.tensorrt) is unavailable: tensorrt==8.5.3.1 has no release for "
        f"Python 3.11 on {PLATFORM}; tensorflow 2.14.1 runs without it (its extra is installed "
        "without tensorrt==8.5.3.1)"
    ) in res.notes
    res310 = run_solve(server.url, tmp_path, tf="2.14", python="3.10")
    assert versions(res310)["tensorrt"] == "8.5.3.1"
    assert not [n for n in res310.notes if "TF-TRT" in n]
    # 2.15.0 pins tensorrt-libs==8.6.1, on no index at all: it resolves too
    assert versions(run_solve(server.url, tmp_path, tf="2.15.0"))["tensorflow"] == "2.15.0"


def test_exact_means_exact_and_line_means_newest(server: IndexServer, tmp_path: Path) -> None:
    assert versions(run_solve(server.url, tmp_path, tf="2.15.0.post1"))["tensorflow"] == (
        "2.15.0.post1"
    )
    assert versions(run_solve(server.url, tmp_path, tf="2.15"))["tensorflow"] == "2.15.1"


def test_pre_release_only_when_asked(server: IndexServer, tmp_path: Path) -> None:
    assert versions(run_solve(server.url, tmp_path, tf="2.15"))["tensorflow"] == "2.15.1"
    assert versions(run_solve(server.url, tmp_path, tf=">=2.15"))["tensorflow"] == "2.15.1"
    pre = versions(run_solve(server.url, tmp_path, tf="2.15", pre=True))
    assert (pre["tensorflow"], pre["numpy"]) == ("2.15.2rc0", "2.0.0")
    assert versions(run_solve(server.url, tmp_path, tf="2.15.2rc0"))["tensorflow"] == "2.15.2rc0"


@pytest.mark.parametrize(
    "request_args",
    [
        ("--tf", "2.14"),  # TensorRT has no wheel for 3.11: TF-TRT unavailable, a note
        ("--tf", "2.15", "--spacy", "3.7", "--cpu"),
        ("--tf", "2.15"),  # no --driver: no driver here, a warning
    ],
)
def test_every_note_and_warning_printed_is_in_the_json(
    server: IndexServer, tmp_path: Path, cli, request_args: tuple[str, ...]
) -> None:
    args = cli_solve_args(server.url, tmp_path, *request_args)
    text = cli(*args)
    assert text.code == 0, text.err
    doc = json.loads(cli(*args, "--json").out)
    notes = [
        ln.removeprefix("note:").strip() for ln in text.out.splitlines() if ln.startswith("note:")
    ]
    warned = [
        ln.removeprefix("warning: ") for ln in text.err.splitlines() if ln.startswith("warning: ")
    ]
    assert doc["notes"] == notes and doc["warnings"] == warned
    if request_args == ("--tf", "2.14"):
        assert any(n.startswith("TF-TRT (tf.experimental.tensorrt) is unavailable") for n in notes)
        lock_args = ("lock", *args[1:], "-o", str(tmp_path / "pylock.toml"))
        locked = cli(*lock_args)
        assert [f"  note: {n}" for n in notes] == [
            ln for ln in locked.out.splitlines() if ln.startswith("  note: ")
        ]
        assert json.loads(cli(*lock_args, "--json").out)["notes"] == notes
    if "--driver" not in request_args and "--cpu" not in request_args:
        assert warned  # the machine has no driver: said in both


def test_yanked_file_is_skipped(local_index: IndexServer, wheel_dir: Path, tmp_path: Path) -> None:
    build_index(wheel_dir)
    for path in wheel_dir.glob("numpy-1.26.4-*.whl"):
        local_index.yank(path.name, "broken build")
    got = versions(run_solve(local_index.url, tmp_path, tf="2.15"))
    assert got["numpy"] == "1.26.3"


@pytest.mark.parametrize(
    ("yanked", "needs", "said"),
    [
        ("spacy-3.7.5-*", "--spacy 3.7 needs spacy[cuda12x]==3.7.*", "spacy 3.7.5 (broken build)"),
        (
            "thinc-8.2.*",
            "spacy==3.7.5 needs thinc<8.3.0,>=8.2.2",
            "thinc 8.2.99 (broken build), thinc 8.2.5 (broken build)",
        ),
    ],
)
def test_releases_yanked_on_the_index_are_named_as_yanked(
    local_index: IndexServer, wheel_dir: Path, tmp_path: Path, yanked: str, needs: str, said: str
) -> None:
    """Only yanked releases meet the requirement: the failure says so, with the reasons the
    index gave, not that no release exists; the way out (another line) resolves."""
    build_index(wheel_dir)
    for path in wheel_dir.glob(yanked):
        local_index.yank(path.name, "broken build")
    with pytest.raises(ResolutionError) as info:
        run_solve(local_index.url, tmp_path, spacy="3.7")
    assert info.value.message == (
        f"no release fits: {needs}, and the only releases that would do are yanked on the "
        f"index: {said}"
    )
    assert info.value.hint == "use --spacy 3.8"
    assert versions(run_solve(local_index.url, tmp_path, spacy="3.8"))["spacy"] == "3.8.7"


def test_offline_warm_solve_makes_no_request(
    local_index: IndexServer, wheel_dir: Path, tmp_path: Path
) -> None:
    build_index(wheel_dir)  # on a server of its own: its log is this test's
    first = run_solve(local_index.url, tmp_path, tf="2.15", spacy="3.7")
    local_index.clear_log()
    second = run_solve(local_index.url, tmp_path, tf="2.15", spacy="3.7", offline=True)
    assert local_index.count() == 0
    assert versions(second) == versions(first)


def test_offline_cold_cache_is_a_clear_error(server: IndexServer, tmp_path: Path) -> None:
    with pytest.raises(IndexError_) as info:
        run_solve(server.url, tmp_path, tf="2.15", offline=True)
    assert "--offline" in info.value.message


def test_dead_index_is_a_clear_error(tmp_path: Path, cli) -> None:
    r = cli(
        "solve",
        "--tf",
        "2.15",
        "--driver",
        "535.104.05",
        "--python",
        "3.11",
        "--index-url",
        "http://127.0.0.1:9/simple",
        "--cache-dir",
        str(tmp_path),
    )
    assert r.code == 2
    assert "could not reach the package index at http://127.0.0.1:9/simple" in r.err
    assert "Traceback" not in r.err


def test_spacy_gets_click_that_it_imports_but_does_not_declare(
    server: IndexServer, tmp_path: Path
) -> None:
    """typer >= 0.29 dropped click, and spacy/cli imports it: the recipe adds it."""
    res = run_solve(server.url, tmp_path, spacy="3.7", driver=None)
    click = res.pin("click")
    # The test-built spacy 3.7.5 does not declare click (as the real one does not).
    assert click is not None and click.why == ("spacy==3.7.5",)


def test_spacy_alone_without_driver(server: IndexServer, tmp_path: Path) -> None:
    res = run_solve(server.url, tmp_path, spacy="3.7", driver=None)
    got = versions(res)
    assert (got["spacy"], got["cupy-cuda12x"]) == ("3.7.5", "12.3.0")
    assert got["nvidia-cuda-runtime-cu12"] == "12.4.127"  # CuPy's range alone: the newest
    assert "tensorflow" not in got
    stack = res.stack
    assert (stack.cuda, stack.cudnn, stack.min_cuda) == (Version("12.4"), None, Version("12.0"))
    assert str(res.stack.driver_floor) == "525.60.13"
    assert any("no NVIDIA driver was detected" in n and "525.60.13" in n for n in res.notes)


def test_spacy_on_python_313_roots_cupy_directly(server: IndexServer, tmp_path: Path) -> None:
    """spacy[cuda12x] caps CuPy < 13, which has no cp313 wheels (docs/facts.md, "CuPy")."""
    res = run_solve(server.url, tmp_path, spacy="3.8", python="3.13")
    by_name = {p.name: p for p in res.pins}
    assert by_name["spacy"].version == Version("3.8.7")
    assert by_name["cupy-cuda12x"].version == Version("13.6.0")
    assert by_name["cupy-cuda12x"].why[0].startswith("recipe: cupy-cuda12x (spacy[cuda12x]")


def test_cli_human_and_json(server: IndexServer, tmp_path: Path, cli) -> None:
    request = ("--tf", "2.15", "--spacy", "3.7", "--driver", "535.104.05")
    args = cli_solve_args(server.url, tmp_path, *request)
    human = cli(*args)
    assert human.code == 0, human.err
    assert "frameworks (2):" in human.out and "CUDA libraries" in human.out
    assert "stack:   CUDA 12.2, cuDNN 8.9" in human.out
    assert "driver:  ≥ 525.60.13 (runs CUDA ≥ 12.0)" in human.out
    assert f"from:    {server.url} (" in human.out  # the one index every package came from
    doc = json.loads(cli(*args, "--json").out)
    assert set(doc) == {
        "packages",
        "cuda",
        "cudnn",
        "built_with",
        "python",
        "driver_floor",
        "frameworks",
        "relaxed",
        "notes",
        "warnings",
    }
    assert doc["relaxed"] == []  # TensorFlow's pins alone: nothing to relax
    assert (doc["cuda"], doc["cudnn"], doc["python"], doc["driver_floor"]) == (
        "12.2",
        "8.9",
        "3.11",
        "525.60.13",
    )
    assert doc["built_with"] == {"cuda": "12.2", "cudnn": "8.9"}
    assert doc["frameworks"] == {"tensorflow": "2.15.1", "spacy": "3.7.5"}
    tf = next(p for p in doc["packages"] if p["name"] == "tensorflow")
    assert set(tf) == {"name", "version", "wheel", "why", "index"}
    assert tf["index"] == server.url
    assert set(tf["wheel"]) == {"url", "sha256"} and tf["wheel"]["url"].startswith(server.base)


def test_cli_cpu_only_stack_needs_no_driver(server: IndexServer, tmp_path: Path, cli) -> None:
    args = cli_solve_args(server.url, tmp_path, "--tf", "2.15", "--spacy", "3.7", "--cpu")
    human = cli(*args, env={"CONDA_OVERRIDE_CUDA": ""})
    assert human.code == 0, human.err
    assert "CPU only" in human.out and "warning" not in human.err
    doc = json.loads(cli(*args, "--json").out)
    names = {p["name"] for p in doc["packages"]}
    assert doc["frameworks"] == {"tensorflow": "2.15.1", "spacy": "3.7.5"}
    assert not {n for n in names if n.startswith(("nvidia-", "cupy"))}
    assert (doc["cuda"], doc["cudnn"], doc["driver_floor"]) == (None, None, None)


# -- sdists: never picked, never fetched, unless --allow-sdist --------------------------------


@pytest.fixture
def sdist_index(tmp_path: Path) -> Iterator[IndexServer]:
    """The case index plus ``click 9.0``, published only as an sdist."""
    wheels = build_index(tmp_path / "wheels")
    make_sdist(wheels, "click", "9.0")
    server = serve(wheels)
    try:
        yield server
    finally:
        server.stop()


def test_an_sdist_is_never_picked_or_fetched_unless_allowed(
    sdist_index: IndexServer, tmp_path: Path, cli, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where the sdist's setup.py would leave its mark
    request = ("--spacy", "3.7", "--driver", "535.104.05", "--json")
    plain = cli(*cli_solve_args(sdist_index.url, tmp_path / "a", *request))
    assert plain.code == 0, plain.err
    click = next(p for p in json.loads(plain.out)["packages"] if p["name"] == "click")
    assert click["version"] == "8.1.8" and click["wheel"]["url"].endswith(".whl")
    assert not [r.path for r in sdist_index.requests if ".tar.gz" in r.path]
    allowed = cli(*cli_solve_args(sdist_index.url, tmp_path / "b", *request, "--allow-sdist"))
    assert allowed.code == 0, allowed.err
    click = next(p for p in json.loads(allowed.out)["packages"] if p["name"] == "click")
    assert click["version"] == "9.0" and click["wheel"]["url"].endswith("click-9.0.tar.gz")
    fetched = {r.path.rsplit("/", 1)[-1] for r in sdist_index.requests if ".tar.gz" in r.path}
    assert fetched == {"click-9.0.tar.gz.metadata"}  # its PEP 658 metadata; never the archive
    assert not (tmp_path / "SDIST-CODE-RAN").exists()


def test_locks_and_environments_take_no_sdist_option(cli, tmp_path: Path) -> None:
    for command in ("lock", "create"):
        done = cli(command, "--spacy", "3.7", "--allow-sdist", "-p", str(tmp_path / "env"))
        assert done.code == 2 and "--allow-sdist" in done.err
    assert not (tmp_path / "env").exists()


def test_a_known_line_the_index_lacks_is_said_so_and_the_way_out_works(cli, tmp_path) -> None:
    from tests.functional.fleet_index import PY, build_cpu_index
    from tests.tools.index_server import IndexServer

    wheels = build_cpu_index(tmp_path / "wheels")
    for old in wheels.glob("spacy-3.7*"):
        old.unlink()  # the index has spaCy 3.8 only
    with IndexServer(wheels) as index:
        argv = ["solve", "--cpu", "--python", PY, "--index-url", index.url]
        argv += ["--cache-dir", str(tmp_path / "cache")]
        refused = cli(*argv, "--spacy", "3.7")
        assert refused.code == 2
        assert refused.err.startswith("error: the index has no spaCy 3.7 release\n")
        assert "cudaenv knows spaCy 3.7; the index lists spaCy 3.8.7" in refused.err
        assert "not a release cudaenv knows" not in refused.err
        assert "hint: use --spacy 3.8" in refused.err
        assert cli(*argv, "--spacy", "3.8").code == 0


def test_a_known_line_of_a_project_the_index_does_not_have() -> None:
    from cudaenv.request import FrameworkRequest
    from cudaenv.solver.rules.explain import unknown_release

    fw = FrameworkRequest.from_string("spacy", "3.7")
    why = unknown_release(fw, knowledge.load().spacy, "spaCy", newest_line=Version("3.8"))
    assert why.headline == "the index has no spaCy release at all"
    assert why.hints == (), "another line of a project the index lacks is no way out"
