"""Machine detection: parsers on verbatim captures, overrides, the probe chain, container hints.

Captures live in tests/data/nvidia-smi and tests/data/proc (sources in their READMEs). This
machine has no NVIDIA driver, so the nvidia-smi probe runs a fake nvidia-smi that prints a
capture, the /proc probe reads a fixture root, and the ctypes probes load fake libraries
compiled here from tests/tools/fake_driver (the real dlopen path).
"""

from __future__ import annotations

import ctypes
import shutil
from pathlib import Path

import pytest
from packaging.version import Version

from cudaenv.driver import DriverVersion
from cudaenv.errors import UsageError
from cudaenv.machine import (
    DriverInfo,
    Gpu,
    Host,
    Machine,
    Overrides,
    ProbeError,
    detect,
    run_probes,
)
from cudaenv.machine.container import NO_GPU_IN_CONTAINER, container_hints
from cudaenv.machine.parse import (
    cuda_from_int,
    parse_cuda_version,
    parse_driver_version,
    parse_proc_version,
    parse_smi_header,
    parse_smi_query,
    parse_sys_module_version,
)
from cudaenv.machine.probes import PROBES, _from_libcuda, _from_nvidia_smi, _from_nvml, _from_proc
from tests.tools import fake_driver
from tests.tools.fake_driver import fake_nvidia_smi

DATA = Path(__file__).resolve().parents[1] / "data"
SMI = DATA / "nvidia-smi"
PROC = DATA / "proc"

# A small driver table standing in for the knowledge base (which has its own tests; it is used
# for real in TestKnowledgeBase below).
D = DriverVersion.parse
TABLE = {
    D("450.80.02"): Version("11.0"),
    D("470.57.02"): Version("11.4"),
    D("535.54.03"): Version("12.2"),
    D("550.54.14"): Version("12.4"),
}


def to_cuda(driver: DriverVersion) -> Version | None:
    return max((c for d, c in TABLE.items() if d <= driver), default=None)


def text(driver: DriverVersion | None) -> str | None:
    """A driver version as cudaenv prints it (None stays None)."""
    return None if driver is None else str(driver)


def nowhere(tmp_path: Path, **kw) -> Host:
    """A host with nothing NVIDIA: empty root, empty PATH, libraries that do not exist."""
    (tmp_path / "root").mkdir(exist_ok=True)
    (tmp_path / "bin").mkdir(exist_ok=True)
    base = {
        "root": tmp_path / "root",
        "path": str(tmp_path / "bin"),
        "nvml_names": (str(tmp_path / "no-libnvidia-ml.so.1"),),
        "cuda_names": (str(tmp_path / "no-libcuda.so.1"),),
        "environ": {"PATH": "/usr/bin:/bin"},
        "timeout": 10.0,
    }
    base.update(kw)
    return Host(**base)


def put(root: Path, relative: str, source: Path) -> None:
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


# --- parsers on verbatim captures -------------------------------------------------------------


@pytest.mark.parametrize(
    ("capture", "driver", "cuda"),
    [
        ("table-450.57-titan-xp.txt", "450.57", "11.0"),
        ("table-470.82.01-a100.txt", "470.82.01", "11.4"),
        ("table-535.129.03-quadro-rtx-4000.txt", "535.129.03", "12.2"),
        ("table-550.135-tesla-p4.txt", "550.135", "12.4"),
        ("table-550.40.07-rtx-4070.txt", "550.40.07", "12.4"),
        ("table-550.54.10-cuda-na.txt", "550.54.10", None),
        ("table-331.62-no-cuda-column.txt", "331.62", None),
    ],
)
def test_smi_header(capture: str, driver: str, cuda: str | None) -> None:
    info = parse_smi_header((SMI / capture).read_text())
    assert text(info.driver_version) == driver
    assert info.max_cuda == (Version(cuda) if cuda else None)


@pytest.mark.parametrize(
    "capture", ["failed-no-driver.txt", "failed-version-mismatch.txt", "query-invalid-field.txt"]
)
def test_smi_header_refuses_error_output(capture: str) -> None:
    with pytest.raises(ProbeError, match="no 'Driver Version'"):
        parse_smi_header((SMI / capture).read_text())


def test_smi_query_with_header_any_column_order() -> None:
    info = parse_smi_query((SMI / "query-570.86.15-with-header.txt").read_text())
    assert text(info.driver_version) == "570.86.15"
    assert [(g.name, str(g.compute_capability), g.memory_mib) for g in info.gpus] == [
        ("NVIDIA TITAN V", "7.0", None),
        ("NVIDIA RTX 5880 Ada Generation", "8.9", None),
    ]
    assert info.max_cuda is None  # the query does not say; the header does


def test_smi_query_noheader_with_named_fields() -> None:
    body = (SMI / "query-570.86.15-with-header.txt").read_text().split("\n", 1)[1]
    fields = ["compute_cap", "compute_mode", "driver_version", "name", "index"]
    info = parse_smi_query(body, fields)
    assert text(info.driver_version) == "570.86.15"
    assert len(info.gpus) == 2


def test_smi_query_units_and_missing_values() -> None:
    text = "name, memory.total [MiB], compute_cap\nTesla P4, 8192 MiB, [N/A]\n"
    (gpu,) = parse_smi_query(text).gpus
    assert (gpu.name, gpu.memory_mib, gpu.compute_capability) == ("Tesla P4", 8192, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name, memory.total\nTesla P4\n", "garbled GPU line"),
        ("name, memory.total\nTesla P4, lots\n", "as the memory of Tesla P4"),
        ("name, compute_cap\nTesla P4, sm_61\n", "as the compute capability of Tesla P4"),
        ("driver_version, name\n535.104.05, A\n550.54.15, B\n", "several driver versions"),
        ("driver_version, name\nbanana, A\n", "not an NVIDIA driver version"),
        ("index, uuid\n0, GPU-1\n", "garbled GPU line"),
        ("", "no CSV header"),
    ],
)
def test_smi_query_garbled(text: str, message: str) -> None:
    with pytest.raises(ProbeError, match=message):
        parse_smi_query(text)


@pytest.mark.parametrize(
    ("capture", "driver"),
    [
        ("proc-version-384.98.txt", "384.98"),
        ("proc-version-375.74.txt", "375.74"),
        ("proc-version-525.60.11-open.txt", "525.60.11"),
        ("proc-version-550.144.03-open.txt", "550.144.03"),
        ("proc-version-565.57.01-open.txt", "565.57.01"),
        ("proc-version-580.173.02.txt", "580.173.02"),
        ("proc-version-35.3.1-jetson-aarch64.txt", "35.3.1"),
    ],
)
def test_proc_version(capture: str, driver: str) -> None:
    assert str(parse_proc_version((PROC / capture).read_text())) == driver


def test_sys_module_version() -> None:
    found = parse_sys_module_version((PROC / "sys-module-version-550.144.03.txt").read_text())
    assert str(found) == "550.144.03"


@pytest.mark.parametrize("text", ["", "GCC version:  gcc version 12.3.0\n", "NVRM version: ?\n"])
def test_proc_version_garbled(text: str) -> None:
    with pytest.raises(ProbeError, match="not as expected"):
        parse_proc_version(text)


def test_driver_version_keeps_nvidia_spelling() -> None:
    assert str(parse_driver_version(" 535.104.05\n")) == "535.104.05"  # Version(): 535.104.5
    for bad in ("banana", "535", "535.104.05.1", "535.104.05-1", ""):
        with pytest.raises(ProbeError):
            parse_driver_version(bad)


def test_cuda_versions() -> None:
    assert parse_cuda_version("12") == Version("12.0")
    assert parse_cuda_version("12.4.1") == Version("12.4")
    assert cuda_from_int(12020) == Version("12.2")
    assert cuda_from_int(11040) == Version("11.4")
    assert cuda_from_int(13000) == Version("13.0")
    for bad in ("twelve", "12.x", "v12"):
        with pytest.raises(ProbeError):
            parse_cuda_version(bad)
    with pytest.raises(ProbeError):
        cuda_from_int(0)


# --- overrides --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "environ", "message"),
    [
        ({"driver": "banana"}, {}, "--driver 'banana' is not valid"),
        ({"cuda": "twelve"}, {}, "--cuda 'twelve' is not valid"),
        ({}, {"CONDA_OVERRIDE_CUDA": "latest"}, "CONDA_OVERRIDE_CUDA 'latest' is not valid"),
    ],
)
def test_bad_overrides_are_usage_errors(kwargs, environ, message) -> None:
    with pytest.raises(UsageError, match=message) as info:
        Overrides.from_env_and_args(environ=environ, **kwargs)
    assert info.value.hint


def test_overrides_are_checked_when_made() -> None:
    with pytest.raises(UsageError, match="--driver 'banana' is not valid"):
        Overrides(driver="banana")
    assert Overrides(conda_override_cuda="").conda_override_cuda == ""


def test_conda_override_read_as_conda_reads_it() -> None:
    def read(value):
        return Overrides.from_env_and_args(environ={"CONDA_OVERRIDE_CUDA": value})

    assert Overrides.from_env_and_args(environ={}).conda_override_cuda is None  # unset
    assert read("").conda_override_cuda == ""  # set but empty: "no CUDA"
    assert read("  ").conda_override_cuda == ""  # conda strips first
    assert read(" 12.4 ").conda_override_cuda == "12.4"


@pytest.mark.parametrize(
    ("overrides", "driver", "cuda"),
    [
        ({"driver": "535.104.05"}, "535.104.05", "12.2"),
        ({"driver": "470.82.01"}, "470.82.01", "11.4"),
        ({"cuda": "12.4"}, None, "12.4"),
        ({"environ": {"CONDA_OVERRIDE_CUDA": "12.4"}}, None, "12.4"),
        ({"environ": {"CONDA_OVERRIDE_CUDA": "11"}}, None, "11.0"),
        ({"driver": "535.104.05", "cuda": "12.1"}, "535.104.05", "12.1"),
    ],
)
def test_override_answers_without_probing(tmp_path: Path, overrides, driver, cuda) -> None:
    smi = fake_nvidia_smi(tmp_path / "bin", table=SMI / "table-550.40.07-rtx-4070.txt")
    host = nowhere(tmp_path, path=str(smi.parent))
    overrides.setdefault("environ", {})
    m = detect(Overrides.from_env_and_args(**overrides), driver_to_cuda=to_cuda, host=host)
    assert (text(m.driver_version), str(m.max_cuda), m.source) == (driver, cuda, "override")
    assert m.problems == ()
    assert not (smi.parent / "calls.log").exists()  # nvidia-smi was not run


def test_empty_conda_override_means_no_cuda(tmp_path: Path) -> None:
    o = Overrides.from_env_and_args(environ={"CONDA_OVERRIDE_CUDA": ""})
    m = detect(o, driver_to_cuda=to_cuda, host=nowhere(tmp_path))
    assert (text(m.driver_version), m.max_cuda, m.source) == (None, None, "override")
    assert "CONDA_OVERRIDE_CUDA is set but empty" in m.problems[0]


def test_flags_beat_conda_override_and_inconsistency_is_said(tmp_path: Path) -> None:
    o = Overrides.from_env_and_args(
        driver="470.82.01", cuda="12.4", environ={"CONDA_OVERRIDE_CUDA": "11.8"}
    )
    m = detect(o, driver_to_cuda=to_cuda, host=nowhere(tmp_path))
    assert (text(m.driver_version), m.max_cuda) == ("470.82.01", Version("12.4"))
    assert any("CONDA_OVERRIDE_CUDA='11.8' ignored" in p for p in m.problems)
    assert any("newer than driver 470.82.01 supports (CUDA 11.4)" in p for p in m.problems)


def test_driver_older_than_every_known_cuda(tmp_path: Path) -> None:
    o = Overrides.from_env_and_args(driver="384.98", environ={})
    m = detect(o, driver_to_cuda=to_cuda, host=nowhere(tmp_path))
    assert m.max_cuda is None
    assert m.too_old and m.has_driver  # too old, never "no driver"
    assert "older than every driver in cudaenv's table" in m.problems[0]


def test_no_driver_is_not_too_old(tmp_path: Path) -> None:
    m = detect(
        Overrides.from_env_and_args(environ={}), driver_to_cuda=to_cuda, host=nowhere(tmp_path)
    )
    assert (m.driver_version, m.max_cuda) == (None, None)
    assert not m.too_old and not m.has_driver


class TestKnowledgeBase:
    """The same overrides through the real knowledge base's driver table."""

    @pytest.mark.parametrize(("driver", "cuda"), [("535.104.05", "12.2"), ("470.82.01", "11.4")])
    def test_driver_to_cuda(self, tmp_path: Path, driver: str, cuda: str) -> None:
        from cudaenv.knowledge import load

        o = Overrides.from_env_and_args(driver=driver, environ={})
        m = detect(o, driver_to_cuda=load().max_cuda_for_driver, host=nowhere(tmp_path))
        assert str(m.max_cuda) == cuda

    def test_default_loads_the_knowledge_base(self, tmp_path: Path) -> None:
        o = Overrides.from_env_and_args(driver="535.104.05", environ={})
        assert str(detect(o, host=nowhere(tmp_path)).max_cuda) == "12.2"


# --- the probe chain --------------------------------------------------------------------------


def test_probe_order() -> None:
    assert [name for name, _ in PROBES] == ["nvml", "libcuda", "nvidia-smi", "proc"]


def test_chain_skips_absent_records_failures_and_fills_gaps(tmp_path: Path) -> None:
    calls = []

    def probe(name, result):
        def run(host):
            calls.append(name)
            if isinstance(result, Exception):
                raise result
            return result

        return (name, run)

    probes = [
        probe("a", None),
        probe("b", ProbeError("garbled")),
        probe("c", DriverInfo(max_cuda=Version("12.2"))),
        probe("d", DriverInfo(driver_version=D("535.104.05"), max_cuda=Version("11.0"))),
        probe("e", DriverInfo(driver_version=D("999.0"))),
    ]
    info, source, failures = run_probes(nowhere(tmp_path), probes)
    assert calls == ["a", "b", "c", "d"]  # stops once driver and max CUDA are known
    assert source == "c"  # the first that answered
    assert info == DriverInfo(driver_version=D("535.104.05"), max_cuda=Version("12.2"))
    assert failures == {"b": "garbled"}


def test_nothing_answers(tmp_path: Path) -> None:
    assert run_probes(nowhere(tmp_path), [("a", lambda h: None)]) == (None, "none", {})


def test_no_driver_says_so_and_why(tmp_path: Path) -> None:
    m = detect(Overrides(), driver_to_cuda=to_cuda, host=nowhere(tmp_path))
    assert (text(m.driver_version), m.max_cuda, m.source, m.gpus) == (None, None, "none", ())
    first = m.problems[0]
    assert first.startswith("no NVIDIA driver found: ")
    for reason in ("no NVML library", "no libcuda", "no nvidia-smi on PATH", "/proc/driver"):
        assert reason in first


# --- the nvidia-smi probe, through a fake nvidia-smi printing captures -------------------------


def test_smi_probe_query_and_header(tmp_path: Path) -> None:
    smi = fake_nvidia_smi(
        tmp_path / "bin",
        table=SMI / "table-550.40.07-rtx-4070.txt",
        query=SMI / "query-570.86.15-with-header.txt",
    )
    info = _from_nvidia_smi(nowhere(tmp_path, path=str(smi.parent)))
    assert info is not None
    assert info.max_cuda == Version("12.4")  # from the header
    assert [g.name for g in info.gpus] == ["NVIDIA TITAN V", "NVIDIA RTX 5880 Ada Generation"]
    calls = (smi.parent / "calls.log").read_text().splitlines()
    assert calls == [
        "--query-gpu=driver_version,name,compute_cap,memory.total --format=csv,nounits",
        "",
    ]


def test_smi_probe_old_driver_without_compute_cap(tmp_path: Path) -> None:
    smi = fake_nvidia_smi(
        tmp_path / "bin",
        table=SMI / "table-470.82.01-a100.txt",
        query=SMI / "query-invalid-field.txt",
        query_rc=2,
    )
    info = _from_nvidia_smi(nowhere(tmp_path, path=str(smi.parent)))
    assert info == DriverInfo(driver_version=D("470.82.01"), max_cuda=Version("11.4"))
    calls = (smi.parent / "calls.log").read_text().splitlines()
    assert calls[1] == "--query-gpu=driver_version,name,memory.total --format=csv,nounits"


@pytest.mark.parametrize(
    ("capture", "message"),
    [
        ("failed-no-driver.txt", "couldn't communicate with the NVIDIA driver"),
        ("failed-version-mismatch.txt", "Driver/library version mismatch"),
    ],
)
def test_smi_probe_failing_driver(tmp_path: Path, capture: str, message: str) -> None:
    smi = fake_nvidia_smi(
        tmp_path / "bin", table=SMI / capture, query=SMI / capture, table_rc=9, query_rc=9
    )
    host = nowhere(tmp_path, path=str(smi.parent))
    with pytest.raises(ProbeError, match=message):
        _from_nvidia_smi(host)
    m = detect(Overrides(), driver_to_cuda=to_cuda, host=host)
    assert m.source == "none"
    assert m.problems[0].startswith("no NVIDIA driver found: ")
    assert "no nvidia-smi on PATH" not in m.problems[0]
    assert any(
        p.startswith("nvidia-smi probe: nvidia-smi failed (exit status 9)") for p in m.problems
    )


def test_smi_probe_output_that_is_not_utf8(tmp_path: Path) -> None:
    capture = tmp_path / "failed-latin1.txt"
    capture.write_bytes((SMI / "failed-no-driver.txt").read_bytes().rstrip() + b" (caf\xe9)\n")
    smi = fake_nvidia_smi(tmp_path / "bin", table=capture, query=capture, table_rc=9, query_rc=9)
    with pytest.raises(ProbeError, match=r"couldn't communicate with the NVIDIA driver.*caf\ufffd"):
        _from_nvidia_smi(nowhere(tmp_path, path=str(smi.parent)))


def test_smi_probe_absent(tmp_path: Path) -> None:
    assert _from_nvidia_smi(nowhere(tmp_path)) is None


def test_smi_probe_hung(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\nexec sleep 30\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    with pytest.raises(ProbeError, match=r"did not answer within 0\.5 s"):
        _from_nvidia_smi(nowhere(tmp_path, path=str(bin_dir), timeout=0.5))


# --- the /proc probe, on a fixture root -------------------------------------------------------


def test_proc_probe(tmp_path: Path) -> None:
    host = nowhere(tmp_path)
    assert _from_proc(host) is None
    put(host.root, "proc/driver/nvidia/version", PROC / "proc-version-565.57.01-open.txt")
    assert _from_proc(host) == DriverInfo(driver_version=D("565.57.01"))
    put(host.root, "sys/module/nvidia/version", PROC / "sys-module-version-550.144.03.txt")
    assert _from_proc(host) == DriverInfo(driver_version=D("550.144.03"))  # /sys first


def test_proc_probe_garbled(tmp_path: Path) -> None:
    host = nowhere(tmp_path)
    put(host.root, "proc/driver/nvidia/version", SMI / "failed-no-driver.txt")
    with pytest.raises(ProbeError, match="not as expected"):
        _from_proc(host)


def test_detect_from_proc_maps_driver_to_cuda(tmp_path: Path) -> None:
    host = nowhere(tmp_path)
    put(host.root, "proc/driver/nvidia/version", PROC / "proc-version-580.173.02.txt")
    m = detect(Overrides(), driver_to_cuda=to_cuda, host=host)
    assert (text(m.driver_version), m.max_cuda, m.source) == ("580.173.02", Version("12.4"), "proc")
    assert m.problems == ()  # /proc knows no GPUs, and does not claim to


def test_detect_prefers_smi_to_proc(tmp_path: Path) -> None:
    smi = fake_nvidia_smi(
        tmp_path / "bin",
        table=SMI / "table-535.129.03-quadro-rtx-4000.txt",
        query=SMI / "query-invalid-field.txt",
        query_rc=2,
    )
    host = nowhere(tmp_path, path=str(smi.parent))
    put(host.root, "proc/driver/nvidia/version", PROC / "proc-version-384.98.txt")
    m = detect(Overrides(), driver_to_cuda=to_cuda, host=host)
    assert (text(m.driver_version), str(m.max_cuda), m.source) == (
        "535.129.03",
        "12.2",
        "nvidia-smi",
    )
    assert m.problems == ("the driver answered but lists no GPU (nvidia-smi)",)


# --- container hints --------------------------------------------------------------------------


def test_container_without_gpu(tmp_path: Path) -> None:
    host = nowhere(tmp_path)
    (host.root / ".dockerenv").touch()
    hints = container_hints(host)
    assert hints == ("running in a container (/.dockerenv exists)", NO_GPU_IN_CONTAINER)
    assert "docker run --gpus all" in NO_GPU_IN_CONTAINER
    m = detect(Overrides(), driver_to_cuda=to_cuda, host=host)
    assert m.container == hints and NO_GPU_IN_CONTAINER in m.problems


def test_container_with_gpu_and_toolkit_env(tmp_path: Path) -> None:
    environ = {"NVIDIA_VISIBLE_DEVICES": "all", "NVIDIA_DRIVER_CAPABILITIES": "utility"}
    host = nowhere(tmp_path, environ=environ)
    put(host.root, "proc/1/cgroup", PROC / "sys-module-version-550.144.03.txt")
    (host.root / "proc/1/cgroup").write_text("12:pids:/kubepods/besteffort/pod1/abc\n")
    (host.root / "dev").mkdir()
    (host.root / "dev/nvidia0").touch()
    hints = container_hints(host)
    assert hints[0] == "running in a container (cgroup mentions kubepods)"
    assert "NVIDIA_VISIBLE_DEVICES=all" in hints[1]
    assert "lacks 'compute'" in hints[2]
    assert NO_GPU_IN_CONTAINER not in hints


def test_not_a_container(tmp_path: Path) -> None:
    assert container_hints(nowhere(tmp_path)) == ()
    host = nowhere(tmp_path, environ={"NVIDIA_VISIBLE_DEVICES": "void"})
    assert "exposes no GPU" in container_hints(host)[0]


# --- values -----------------------------------------------------------------------------------


def test_machine_values() -> None:
    m = Machine(driver_version=D("535.104.05"), max_cuda=Version("12.2"), source="nvml")
    assert m.to_dict()["driver_version"] == "535.104.05"
    assert (
        Machine(driver_version=None, max_cuda=None, source="none").to_dict()["driver_version"]
        is None
    )
    assert set(m.to_dict()) == {
        "driver_version",
        "cuda_driver_version",
        "gpus",
        "source",
        "problems",
    }
    assert m.to_dict()["cuda_driver_version"] == "12.2"
    with pytest.raises(AttributeError):
        m.source = "proc"  # type: ignore[misc]


# --- the ctypes probes, through the real dlopen of fake libraries compiled here ---------------

needs_cc = pytest.mark.skipif(
    fake_driver.compiler() is None, reason="no C compiler to build the fake driver libraries"
)


@pytest.fixture(scope="module")
def libs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Fake libnvidia-ml.so.1 / libcuda.so.1 variants, each in its own folder."""
    if fake_driver.compiler() is None:
        pytest.skip("no C compiler to build the fake driver libraries")
    base = tmp_path_factory.mktemp("fake-driver")
    variants = {
        "nvml": (fake_driver.build_nvml, {"GPU_COUNT": 2}),
        "nvml-mismatch": (fake_driver.build_nvml, {"INIT_RC": 18}),
        "nvml-nogpu": (
            fake_driver.build_nvml,
            {"GPU_COUNT": 0, "DRIVER": '"470.82.01"', "CUDA": 11040},
        ),
        "cuda": (fake_driver.build_libcuda, {"CUDA": 11040}),
        "cuda-nodevice": (fake_driver.build_libcuda, {"INIT_RC": 100}),
        "cuda-hang": (fake_driver.build_libcuda, {"HANG": None}),
        "cuda-crash": (fake_driver.build_libcuda, {"CRASH": None}),
    }
    out = {}
    for name, (build, defines) in variants.items():
        folder = base / name
        folder.mkdir()
        out[name] = str(build(folder, **defines))
    return out


@needs_cc
def test_nvml_probe(tmp_path: Path, libs: dict[str, str]) -> None:
    info = _from_nvml(
        nowhere(tmp_path, nvml_names=("/nonexistent/libnvidia-ml.so.1", libs["nvml"]))
    )
    assert info is not None
    assert (text(info.driver_version), info.max_cuda) == ("535.104.05", Version("12.2"))
    assert (
        info.gpus
        == (Gpu(name="NVIDIA A100-SXM4-40GB", compute_capability=Version("8.0"), memory_mib=40339),)
        * 2
    )
    shutdowns = ctypes.CDLL(libs["nvml"]).nvmlGetShutdownCount()
    assert shutdowns >= 1  # NVML is always shut down again


@pytest.mark.parametrize(("probe", "names"), [("nvml", "nvml_names"), ("libcuda", "cuda_names")])
def test_a_library_that_is_not_the_driver_is_a_probe_failure(
    tmp_path: Path, probe: str, names: str
) -> None:
    # A real library (zlib) loaded under the driver library's name: detection reports it.
    host = nowhere(tmp_path, **{names: ("libz.so.1",)})
    with pytest.raises(ProbeError, match=r"not NVML|not libcuda"):
        dict(PROBES)[probe](host)
    m = detect(Overrides(), driver_to_cuda=to_cuda, host=host)
    assert m.source == "none" and any(p.startswith(f"{probe} probe: ") for p in m.problems)


@needs_cc
def test_nvml_probe_version_mismatch(tmp_path: Path, libs: dict[str, str]) -> None:
    with pytest.raises(ProbeError, match=r"Driver/library version mismatch \(18\)"):
        _from_nvml(nowhere(tmp_path, nvml_names=(libs["nvml-mismatch"],)))


@needs_cc
def test_detect_nvml_answers_alone(tmp_path: Path, libs: dict[str, str]) -> None:
    # libcuda would hang: detection must not get that far once NVML has answered.
    host = nowhere(tmp_path, nvml_names=(libs["nvml"],), cuda_names=(libs["cuda-hang"],))
    m = detect(Overrides(), driver_to_cuda=to_cuda, host=host)
    assert (text(m.driver_version), str(m.max_cuda), m.source, len(m.gpus)) == (
        "535.104.05",
        "12.2",
        "nvml",
        2,
    )
    assert m.problems == ()


@needs_cc
def test_detect_nvml_without_gpus(tmp_path: Path, libs: dict[str, str]) -> None:
    m = detect(
        Overrides(),
        driver_to_cuda=to_cuda,
        host=nowhere(tmp_path, nvml_names=(libs["nvml-nogpu"],)),
    )
    assert (text(m.driver_version), str(m.max_cuda)) == ("470.82.01", "11.4")
    assert m.problems == ("the driver answered but lists no GPU (nvml)",)


@needs_cc
def test_libcuda_probe_in_child(tmp_path: Path, libs: dict[str, str]) -> None:
    info = _from_libcuda(nowhere(tmp_path, cuda_names=("libcuda-nowhere.so.1", libs["cuda"])))
    assert info == DriverInfo(max_cuda=Version("11.4"))
    assert _from_libcuda(nowhere(tmp_path)) is None  # nothing loads: absent


@needs_cc
def test_libcuda_no_device(tmp_path: Path, libs: dict[str, str]) -> None:
    info = _from_libcuda(nowhere(tmp_path, cuda_names=(libs["cuda-nodevice"],)))
    assert info is not None and info.max_cuda == Version("12.2")
    assert "CUDA_ERROR_NO_DEVICE" in info.problems[0]


@needs_cc
def test_libcuda_hang_is_cut_off(tmp_path: Path, libs: dict[str, str]) -> None:
    host = nowhere(tmp_path, cuda_names=(libs["cuda-hang"],), timeout=1.0)
    with pytest.raises(ProbeError, match="did not answer within 1 s: the driver may be hung"):
        _from_libcuda(host)


@needs_cc
def test_libcuda_crash_does_not_crash_us(tmp_path: Path, libs: dict[str, str]) -> None:
    host = nowhere(tmp_path, cuda_names=(libs["cuda-crash"],))
    with pytest.raises(ProbeError, match=r"killed the probe process \(signal 11\)"):
        _from_libcuda(host)
    m = detect(Overrides(), driver_to_cuda=to_cuda, host=host)
    assert m.source == "none"
    assert "libcuda probe: loading libcuda killed the probe process (signal 11)" in m.problems


@needs_cc
def test_libcuda_answer_completed_by_proc(tmp_path: Path, libs: dict[str, str]) -> None:
    host = nowhere(tmp_path, cuda_names=(libs["cuda"],))
    put(host.root, "proc/driver/nvidia/version", PROC / "proc-version-384.98.txt")
    m = detect(Overrides(), driver_to_cuda=to_cuda, host=host)
    # libcuda answered first (max CUDA); /proc filled in the driver version
    assert (text(m.driver_version), str(m.max_cuda), m.source) == ("384.98", "11.4", "libcuda")
