"""Unit tests for cudaenv.lock: PEP 751 writing and reading through packaging.pylock, exports,
and the machine check, on hand-built Resolution values."""

from __future__ import annotations

import dataclasses
import json
import os
import re

import pytest
from packaging.pylock import Pylock
from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv import lock
from cudaenv._toml import tomllib
from cudaenv.driver import DriverVersion
from cudaenv.errors import LockError
from cudaenv.machine import Machine
from cudaenv.request import FrameworkRequest, Target
from cudaenv.resolution import Pin, Relaxation, Resolution, Stack, WheelFile

INDEX = "https://pypi.org/simple"


def _pin(
    name: str,
    version: str,
    group: str = "other",
    why: tuple[str, ...] = (),
    needs: tuple[str, ...] | None = (),
) -> Pin:
    fname = f"{name.replace('-', '_')}-{version}-py3-none-manylinux_2_17_x86_64.whl"
    digest = (name.encode().hex() * 64)[:64]
    return Pin(
        name=canonicalize_name(name),
        version=Version(version),
        wheel=WheelFile(
            filename=fname,
            url=f"https://files.example/packages/{fname}",
            sha256=digest,
            size=1000 + len(name),
            upload_time="2024-03-07T18:37:29.123456+00:00",
        ),
        why=why,
        group=group,
        dependencies=None if needs is None else tuple(canonicalize_name(n) for n in needs),
    )


@pytest.fixture
def resolution() -> Resolution:
    return Resolution(
        pins=tuple(
            dataclasses.replace(pin, index=INDEX)
            for pin in (
                _pin(
                    "tensorflow",
                    "2.15.1",
                    "framework",
                    ("tensorflow[and-cuda]==2.15.*",),
                    ("nvidia-cudnn-cu12", "nvidia-cuda-runtime-cu12", "numpy"),
                ),
                _pin("nvidia-cudnn-cu12", "8.9.4.25", "cuda", ("tensorflow[and-cuda]==2.15.1",)),
                _pin("nvidia-cuda-runtime-cu12", "12.2.140", "cuda", ("tensorflow",)),
                _pin("numpy", "1.26.4", "other", ("tensorflow==2.15.1", "spacy==3.7.5")),
            )
        ),
        target=Target.from_strings("3.11", "manylinux_2_28_x86_64"),
        frameworks=(
            FrameworkRequest.from_string("tf", "2.15"),
            FrameworkRequest.from_string("spacy", ">=3.7,<3.8"),
        ),
        stack=Stack(
            cuda=Version("12.2"),
            cudnn=Version("8.9"),
            built_cuda=Version("12.2"),
            built_cudnn=Version("8.9"),
            min_cuda=Version("12.0"),
            driver_floor=DriverVersion.parse("525.60.13"),
        ),
        index_url=INDEX,
        notes=("spacy[cuda12x] adds cupy-cuda12x",),
        relaxed=(
            Relaxation(
                package=canonicalize_name("nvidia-cudnn-cu12"),
                pinned=Version("8.9.2.26"),
                chosen=Version("8.9.4.25"),
                by="torch==2.3.1",
                rule="cudnn-minor-backward",
                source="https://docs.nvidia.com/deeplearning/cudnn/backend/latest/developer/"
                "forward-compatibility.html",
            ),
        ),
    )


def _reload(text: str) -> Pylock:
    pylock = Pylock.from_dict(tomllib.loads(text))
    pylock.validate()
    return pylock


# --- writing and round trip --------------------------------------------------------------


def test_written_lock_is_valid_pep751(resolution: Resolution) -> None:
    pylock = _reload(lock.dumps(resolution, knowledge_version="2026.11.1"))
    assert pylock.created_by == "cudaenv"
    assert str(pylock.requires_python) == "==3.11.*"
    assert [str(m) for m in pylock.environments or []] == [
        'sys_platform == "linux" and platform_machine == "x86_64" and python_version == "3.11"'
    ]
    for pkg, pin in zip(pylock.packages, resolution.pins, strict=True):
        assert (pkg.name, pkg.version, pkg.index) == (pin.name, pin.version, INDEX)
        (wheel,) = pkg.wheels or []
        assert wheel.url == pin.wheel.url
        assert dict(wheel.hashes) == {"sha256": pin.wheel.sha256}
        assert wheel.size == pin.wheel.size
        assert wheel.upload_time is not None and wheel.upload_time.microsecond == 123456


def test_tool_table_records_the_stack(resolution: Resolution) -> None:
    tool = tomllib.loads(lock.dumps(resolution, knowledge_version="2026.11.1"))["tool"]["cudaenv"]
    assert tool["driver-floor"] == "525.60.13"
    assert tool["min-cuda"] == "12.0"
    assert (tool["cuda"], tool["cudnn"]) == ("12.2", "8.9")
    assert (tool["python"], tool["platform"]) == ("3.11", "manylinux_2_28_x86_64")
    assert tool["knowledge-version"] == "2026.11.1"
    assert tool["frameworks"][0] == {"name": "tensorflow", "specifier": "==2.15.*", "text": "2.15"}
    from cudaenv import __version__

    assert tool["cudaenv-version"] == __version__


def test_every_field_is_set_in_the_fixture_so_the_round_trip_covers_it(
    resolution: Resolution,
) -> None:
    """A field added to Resolution, Pin or WheelFile must be recorded by the lock too."""
    for value in (resolution, resolution.pins[0], resolution.pins[0].wheel):
        unset = [f.name for f in dataclasses.fields(value) if getattr(value, f.name) in (None, ())]
        assert unset == [], f"{type(value).__name__}: give {unset} a value here, then lock them"


def test_round_trip_is_exact(resolution: Resolution) -> None:
    text = lock.dumps(resolution, knowledge_version="k1")
    assert lock.from_pylock(_reload(text)) == resolution
    assert lock.dumps(lock.loads(text).resolution, knowledge_version="k1") == text


def test_round_trip_cpu_only_without_stack_facts() -> None:
    bare = _pin("thinc", "8.2.5")
    bare = Pin(
        name=bare.name,
        version=bare.version,
        wheel=WheelFile(filename=bare.wheel.filename, url=bare.wheel.url, sha256="ab" * 32),
        dependencies=(),
    )
    r = Resolution(
        pins=(_pin("spacy", "3.7.5", "framework"), bare),
        target=Target.from_strings("3.10", "manylinux_2_17_aarch64"),
        frameworks=(FrameworkRequest.from_string("spacy", "3.7.5"),),
    )
    text = lock.dumps(r, knowledge_version="k1")
    assert "driver-floor" not in text and "index" not in text
    assert lock.from_pylock(_reload(text)) == r


@pytest.mark.parametrize("floor", ["450.80.02", "535.104.05", "528.33", "470.82.01"])
def test_driver_floor_keeps_nvidia_spelling(resolution: Resolution, floor: str) -> None:
    stack = dataclasses.replace(resolution.stack, driver_floor=DriverVersion.parse(floor))
    r = dataclasses.replace(resolution, stack=stack)
    text = lock.dumps(r, knowledge_version="k1")
    assert f'driver-floor = "{floor}"' in text
    back = lock.from_pylock(_reload(text))
    assert back == r and str(back.stack.driver_floor) == floor
    assert f"needs NVIDIA driver >= {floor} (max CUDA >= 12.0)" in lock.summary(back)


def test_a_bad_driver_floor_names_its_key(resolution: Resolution) -> None:
    text = lock.dumps(resolution, knowledge_version="k1").replace("525.60.13", "525.x")
    with pytest.raises(LockError) as err:
        lock.from_pylock(_reload(text))
    assert err.value.context == "tool.cudaenv.driver-floor"


def test_write_is_atomic_and_read_back(tmp_path, resolution: Resolution) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text("old")
    assert lock.write(resolution, path, knowledge_version="k1") == path
    assert lock.read(path) == resolution
    assert lock.load(path).knowledge_version == "k1"
    assert [p.name for p in tmp_path.iterdir()] == ["pylock.toml"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_write_makes_the_missing_folders(tmp_path, resolution: Resolution) -> None:
    path = tmp_path / "new dir" / "gpu" / "pylock.toml"
    lock.write(resolution, path, knowledge_version="k1")
    assert lock.read(path) == resolution
    assert [p.name for p in path.parent.iterdir()] == ["pylock.toml"]


def test_a_folder_that_cannot_be_made_fails_cleanly(tmp_path, resolution: Resolution) -> None:
    (tmp_path / "a file").write_text("in the way")
    with pytest.raises(LockError, match="cannot write") as e:
        lock.write(resolution, tmp_path / "a file" / "sub" / "pylock.toml", knowledge_version="k")
    assert "-o" in (e.value.hint or "")
    assert [p.name for p in tmp_path.iterdir()] == ["a file"]


def test_a_failed_write_removes_the_folders_it_made(
    tmp_path, resolution: Resolution, monkeypatch
) -> None:
    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    (tmp_path / "kept").mkdir()
    with pytest.raises(LockError, match="No space left on device"):
        lock.write(resolution, tmp_path / "kept" / "new" / "pylock.toml", knowledge_version="k")
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]
    assert list((tmp_path / "kept").iterdir()) == []


def test_inconsistent_wheel_is_refused_before_writing(resolution: Resolution) -> None:
    bad = Pin(name=canonicalize_name("six"), version=Version("1.0"), wheel=_pin("x", "1.0").wheel)
    r = Resolution(pins=(bad,), target=resolution.target, frameworks=())
    with pytest.raises(LockError) as e:
        lock.to_pylock(r, knowledge_version="k1")
    assert "not consistent" in (e.value.context or "")


# --- reading bad and foreign locks -------------------------------------------------------


def test_corrupt_toml_names_file_and_line(tmp_path, resolution: Resolution) -> None:
    path = tmp_path / "pylock.toml"
    lines = lock.dumps(resolution, knowledge_version="k1").splitlines()
    lines[9] = 'version = "2.15.1'  # an unterminated string on line 10
    path.write_text("\n".join(lines))
    with pytest.raises(LockError) as e:
        lock.read(path)
    assert str(path) in e.value.message
    assert "line 10" in e.value.message


def test_invalid_structure_carries_packaging_context(tmp_path, resolution: Resolution) -> None:
    data = tomllib.loads(lock.dumps(resolution, knowledge_version="k1"))
    data["packages"][1]["wheels"][0]["hashes"] = {}
    import tomli_w

    path = tmp_path / "pylock.toml"
    path.write_text(tomli_w.dumps(data))
    with pytest.raises(LockError) as e:
        lock.read(path)
    assert "not a valid PEP 751 lock" in e.value.message
    assert e.value.context == "at packages[1].wheels[0].hashes"


def test_invalid_tool_value_names_the_key(resolution: Resolution) -> None:
    text = lock.dumps(resolution, knowledge_version="k1").replace(
        'min-cuda = "12.0"', 'min-cuda = "twelve"'
    )
    with pytest.raises(LockError) as e:
        lock.loads(text)
    assert e.value.context == "tool.cudaenv.min-cuda"


def test_each_relaxed_pin_is_recorded_with_its_rule(resolution: Resolution) -> None:
    doc = tomllib.loads(lock.dumps(resolution, knowledge_version="k1"))
    assert doc["tool"]["cudaenv"]["relaxed"] == [
        {
            "package": "nvidia-cudnn-cu12",
            "pinned": "8.9.2.26",
            "chosen": "8.9.4.25",
            "by": "torch==2.3.1",
            "rule": "cudnn-minor-backward",
            "source": resolution.relaxed[0].source,
        }
    ]
    assert "relaxed: nvidia-cudnn-cu12 ==8.9.2.26 (torch==2.3.1) -> 8.9.4.25 under " in "\n".join(
        lock.summary(resolution)
    )


def test_a_relaxed_pin_without_its_rule_names_the_key(resolution: Resolution) -> None:
    text = lock.dumps(resolution, knowledge_version="k1").replace(
        'rule = "cudnn-minor-backward"\n', ""
    )
    with pytest.raises(LockError) as e:
        lock.loads(text)
    assert e.value.context == "tool.cudaenv.relaxed[0]"
    assert "rule" in e.value.message


def test_spec_example_parses(data_dir) -> None:
    text = (data_dir / "pylock" / "pylock.spec-example.toml").read_text()
    pylock = Pylock.from_dict(tomllib.loads(text))
    pylock.validate()
    assert [p.name for p in pylock.packages] == ["attrs", "cattrs", "numpy"]


def test_foreign_lock_selects_wheels_and_names_what_is_missing(data_dir) -> None:
    target = Target.from_strings("3.12", "manylinux_2_28_x86_64")
    info = lock.load(data_dir / "pylock" / "pylock.spec-example.toml", target=target)
    assert info.created_by == "mousebender"
    assert "the driver floor" in info.missing
    r = info.resolution
    assert [(p.name, str(p.version)) for p in r.pins] == [
        ("attrs", "25.1.0"),
        ("cattrs", "24.1.2"),
        ("numpy", "2.2.3"),
    ]
    assert r.pin("numpy").wheel.filename.endswith("manylinux2014_x86_64.whl")  # not win_amd64
    assert r.pin("attrs").wheel.upload_time == "2025-01-25T11:30:10.164985+00:00"
    assert r.stack.driver_floor is None and r.frameworks == ()
    assert "not written by cudaenv" in r.notes[0]


def test_foreign_lock_for_another_python_is_refused(data_dir) -> None:
    target = Target.from_strings("3.11", "manylinux_2_28_x86_64")
    with pytest.raises(LockError, match=re.escape("nothing for Python 3.11")):
        lock.read(data_dir / "pylock" / "pylock.spec-example.toml", target=target)


def test_missing_lock_file(tmp_path) -> None:
    with pytest.raises(LockError, match="no lock file at"):
        lock.read(tmp_path / "pylock.toml")


# --- exports ----------------------------------------------------------------------------


def test_requirements_txt_one_hashed_line_per_pin(resolution: Resolution) -> None:
    text = lock.requirements_txt(resolution)
    reqs = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert reqs == [
        f"{p.name} @ {p.wheel.url} --hash=sha256:{p.wheel.sha256}" for p in resolution.pins
    ]
    header = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert any("525.60.13" in ln for ln in header)
    assert any("--require-hashes" in ln for ln in header)


def test_environment_yml_has_python_pip_and_hashed_lines(resolution: Resolution) -> None:
    text = lock.environment_yml(resolution)
    body = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert body[1:7] == [
        "channels:",
        '  - "conda-forge"',
        "dependencies:",
        "  - python=3.11",
        "  - pip",
        "  - pip:",
    ]
    assert json.loads(body[0].removeprefix("name: ")) == "cudaenv-tensorflow-2.15-spacy-3.7-3.8"
    pip_lines = [json.loads(ln.strip().removeprefix("- ")) for ln in body[7:]]
    assert pip_lines == [lock.requirement_line(p) for p in resolution.pins]


# --- machine checks ----------------------------------------------------------------------
# A machine with an NVIDIA driver is what this test host cannot have: the Machine values below
# are what detect() returns on one (the value, not a stand-in).


def _machine(driver: str | None, max_cuda: str | None) -> Machine:
    return Machine(
        driver_version=DriverVersion.parse(driver) if driver else None,
        max_cuda=Version(max_cuda) if max_cuda else None,
        source="nvml" if driver else "none",
    )


HOST = "manylinux_2_36_x86_64"


def test_driver_below_floor_is_refused(resolution: Resolution) -> None:
    with pytest.raises(lock.LockMismatchError) as e:
        lock.check_machine(resolution, _machine("470.82.01", "11.4"), platform=HOST)
    msg = e.value.message
    assert "525.60.13" in msg and "12.0" in msg and "470.82.01" in msg and "11.4" in msg
    # the real recipes: TF 2.14 is the newest line on CUDA 11.x (min CUDA 11.0) for Python 3.11
    upgrade, relock = e.value.remedies
    assert upgrade.options == (("--driver", "525.60.13"),)
    assert relock.commands == (
        (
            "cudaenv", "lock", "--tf", "2.14", "--spacy", ">=3.7,<3.8", "--python", "3.11",
            "--platform", "manylinux_2_28_x86_64", "-o", "pylock.toml",
        ),
    )  # fmt: skip
    assert "`cudaenv lock --tf 2.14 --spacy '>=3.7,<3.8' --python 3.11 " in (e.value.hint or "")
    assert isinstance(e.value, LockError)


def test_a_driver_too_old_for_every_cuda_is_refused_without_a_relock(
    resolution: Resolution,
) -> None:
    with pytest.raises(lock.LockMismatchError) as e:
        lock.check_machine(resolution, _machine("418.39", None), platform=HOST)
    assert [r.options for r in e.value.remedies] == [(("--driver", "525.60.13"),)]


def test_max_cuda_override_below_min_cuda_is_refused(resolution: Resolution) -> None:
    with pytest.raises(lock.LockMismatchError, match=re.escape("CUDA 11.8")):
        lock.check_machine(resolution, _machine(None, "11.8"), platform=HOST)


def test_driver_at_floor_passes(resolution: Resolution) -> None:
    assert lock.check_machine(resolution, _machine("525.60.13", "12.0"), platform=HOST) == ()
    assert lock.check_machine(resolution, _machine("550.54.15", "12.4"), platform=HOST) == ()


def test_no_driver_is_a_warning(resolution: Resolution) -> None:
    (warning,) = lock.check_machine(resolution, _machine(None, None), platform=HOST)
    assert "no NVIDIA driver detected" in warning and "525.60.13" in warning


def test_wrong_python_is_refused(resolution: Resolution) -> None:
    lock.check_machine(resolution, _machine(None, None), python=Version("3.11.9"), platform=HOST)
    with pytest.raises(
        lock.LockMismatchError, match=re.escape("Python 3.11; the environment's Python is 3.12")
    ):
        lock.check_machine(
            resolution, _machine(None, None), python=Version("3.12.1"), platform=HOST
        )


def test_newer_glibc_or_other_arch_is_refused(resolution: Resolution) -> None:
    for plat, has in (
        ("manylinux_2_17_x86_64", "glibc 2.17 on x86_64"),
        ("manylinux_2_36_aarch64", "glibc 2.36 on aarch64"),
    ):
        with pytest.raises(lock.LockMismatchError, match="manylinux_2_28_x86_64") as e:
            lock.check_machine(resolution, _machine("550.54.15", "12.4"), platform=plat)
        assert "needs glibc ≥ 2.28 on x86_64" in e.value.message and has in e.value.message
        assert f"--platform {plat}" in (e.value.hint or "")


# --- credentials never reach a lock or an export ----------------------------------------------


def _with_auth(resolution: Resolution, auth: str) -> Resolution:
    """``resolution`` as solved from an index URL with ``auth@`` in it (as PIP_INDEX_URL often
    is): the index URL and every wheel URL on its pages carry the credentials."""

    def moved(pin: Pin) -> Pin:
        url = pin.wheel.url.replace("https://", f"https://{auth}@", 1)
        wheel = dataclasses.replace(pin.wheel, url=url)
        return dataclasses.replace(
            pin, wheel=wheel, index=f"https://{auth}@pypi.example:8443/simple"
        )

    return dataclasses.replace(
        resolution,
        pins=tuple(moved(p) for p in resolution.pins),
        index_url=f"https://{auth}@pypi.example:8443/simple",
    )


@pytest.mark.parametrize("auth", ["alice:s3cr3t-Pa55", "s3cr3t-Pa55", "__token__:s3cr3t-Pa55"])
def test_no_credentials_are_written_into_the_lock_or_its_exports(
    resolution: Resolution, auth: str
) -> None:
    private = _with_auth(resolution, auth)
    text = lock.dumps(private, knowledge_version="k1")
    exports = lock.requirements_txt(private) + lock.environment_yml(private)
    for written in (text, exports):
        assert "s3cr3t" not in written and "alice" not in written and "@pypi" not in written
        assert "@files" not in written
    pylock = _reload(text)
    assert {p.index for p in pylock.packages} == {"https://pypi.example:8443/simple"}
    assert pylock.tool["cudaenv"]["index-url"] == "https://pypi.example:8443/simple"
    urls = [w.url for p in pylock.packages for w in p.wheels or []]
    assert urls == [p.wheel.url for p in resolution.pins]  # the same URLs, less the userinfo
    read_back = lock.loads(text).resolution.pins
    assert all(p.index == "https://pypi.example:8443/simple" for p in read_back)
    assert "index: https://pypi.example:8443/simple" in exports
    assert [lock.requirement_line(p) for p in private.pins] == [
        lock.requirement_line(p) for p in resolution.pins
    ]


def test_a_lock_read_back_has_the_urls_without_credentials(resolution: Resolution) -> None:
    private = _with_auth(resolution, "alice:s3cr3t")
    read = lock.loads(lock.dumps(private, knowledge_version="k1")).resolution
    plain = "https://pypi.example:8443/simple"
    pins = tuple(dataclasses.replace(p, index=plain) for p in resolution.pins)
    assert read == dataclasses.replace(resolution, pins=pins, index_url=plain)
    assert lock.dumps(read, knowledge_version="k1") == lock.dumps(private, knowledge_version="k1")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://u:p@host:8443/simple/", "https://host:8443/simple/"),
        ("https://u:p%40x@host/f.whl#sha256=ab", "https://host/f.whl#sha256=ab"),
        ("https://token@host/f.whl", "https://host/f.whl"),
        ("https://host/path@not-auth/f.whl", "https://host/path@not-auth/f.whl"),
        ("http://[::1]:8080/simple", "http://[::1]:8080/simple"),
        ("https://pypi.org/simple", "https://pypi.org/simple"),
    ],
)
def test_without_auth_removes_only_the_userinfo(url: str, expected: str) -> None:
    from cudaenv.lock.urls import without_auth

    assert without_auth(url) == expected
