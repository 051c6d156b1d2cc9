"""Fakes of the NVIDIA driver's user-space parts, for tests on machines that have no driver.

They stand behind the same interfaces the real driver offers, so the probes run their real code:
``fake_nvidia_smi`` is an executable on PATH that prints a verbatim capture (from
``tests/data/nvidia-smi``) and logs its arguments; ``build_nvml`` and ``build_libcuda`` compile
shared libraries exporting the real C symbols, loaded through the real ``dlopen``;
``build_libcuda_stub`` one that exports every driver function a program imports
(``driver_functions``), each saying there is no GPU.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "HERE",
    "build_libcuda",
    "build_libcuda_stub",
    "build_nvml",
    "compiler",
    "driver_functions",
    "fake_machine",
    "fake_nvidia_smi",
]

HERE = Path(__file__).resolve().parent


def compiler() -> str | None:
    """A C compiler, or None (tests that need one skip, saying so)."""
    return shutil.which("cc") or shutil.which("gcc")


def _build(source: str, out: Path, defines: dict[str, object]) -> Path:
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler")
    flags = [
        f"-D{name}={value}" if value is not None else f"-D{name}" for name, value in defines.items()
    ]
    cmd = [cc, "-shared", "-fPIC", "-o", str(out), str(HERE / source), *flags]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def build_nvml(directory: Path, **defines: object) -> Path:
    """Compile a fake ``libnvidia-ml.so.1`` into ``directory``. Defines: DRIVER='"535.104.05"',
    CUDA=12020, INIT_RC=0, GPU_COUNT=1, GPU_NAME='"..."', GPU_MEMORY=bytes, CC_MAJOR, CC_MINOR.
    """
    return _build("fake_nvml.c", directory / "libnvidia-ml.so.1", defines)


def build_libcuda(directory: Path, **defines: object) -> Path:
    """Compile a fake ``libcuda.so.1``. Defines: CUDA=12020, INIT_RC=0, HANG=None, CRASH=None."""
    return _build("fake_cuda.c", directory / "libcuda.so.1", defines)


def driver_functions(libraries: Iterable[Path]) -> list[str]:
    """The driver API functions (``cu`` and a capital: ``cuInit``, ``cuCtxCreate_v2``) the ELF
    files ``libraries`` import, as ``nm -D --undefined-only`` lists them."""
    found: set[str] = set()
    for library in libraries:
        out = subprocess.run(
            ["nm", "-D", "--undefined-only", str(library)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        found |= {m.group(1) for m in re.finditer(r"\bU (cu[A-Z]\w*)", out)}
    return sorted(found)


def build_libcuda_stub(directory: Path, functions: Iterable[str]) -> Path:
    """Compile a ``libcuda.so.1`` (its DT_SONAME too) exporting ``functions``, each answering
    100, CUDA_ERROR_NO_DEVICE: enough for a program linked against the driver (CuPy's
    extension modules) to load on a machine without one, and to be told there is no GPU."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "libcuda_stub.c"
    source.write_text("".join(f"int {name}(void) {{ return 100; }}\n" for name in functions))
    out = directory / "libcuda.so.1"
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler")
    cmd = [cc, "-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o", str(out), str(source)]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def fake_nvidia_smi(
    bin_dir: Path,
    *,
    table: Path | None = None,
    query: Path | None = None,
    report: Path | None = None,
    table_rc: int = 0,
    query_rc: int = 0,
    report_rc: int = 0,
) -> Path:
    """Write an ``nvidia-smi`` into ``bin_dir``: ``--query-gpu=...`` prints ``query``, ``-q``
    prints ``report`` (when given; else the table, as before), a plain run prints ``table`` (each
    with its exit status); every call's arguments go to ``calls.log``.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    log = bin_dir / "calls.log"

    def emit(path: Path | None, rc: int) -> str:
        return (f"cat {shlex.quote(str(path))}; " if path else "") + f"exit {rc}"

    q_case = f"  -q) {emit(report, report_rc)} ;;\n" if report is not None else ""
    script = bin_dir / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {shlex.quote(str(log))}\n'
        'case "$1" in\n'
        f"  --query-gpu=*) {emit(query, query_rc)} ;;\n"
        f"{q_case}"
        "esac\n"
        f"{emit(table, table_rc)}\n"
    )
    script.chmod(0o755)
    return script


DATA = HERE.parents[1] / "data"
# The capture a fake machine's nvidia-smi table and /proc file are made from (a verbatim R580
# /proc line; the table is the 550.40.07 capture with the fake machine's versions written in).
PROC_580 = DATA / "proc" / "proc-version-580.173.02.txt"
TABLE = DATA / "nvidia-smi" / "table-550.40.07-rtx-4070.txt"


def fake_machine(
    folder: Path,
    *,
    driver: str = "580.173.02",
    cuda: str = "13.0",
    gpu: str = "NVIDIA H100 80GB HBM3",
    memory_mib: int = 81559,
    compute: str = "9.0",
) -> dict[str, str]:
    """A whole fake driver that agrees with itself: NVML and libcuda (compiled, on the returned
    ``LD_LIBRARY_PATH``), ``nvidia-smi`` (on ``PATH``) and ``/proc/driver/nvidia/version`` (under
    ``CUDAENV_HOST_ROOT``), all saying ``driver`` and ``cuda``. Returns the variables to set.
    The /proc file is the verbatim 580.173.02 capture (so ``driver`` must stay that version for
    /proc to agree); needs a C compiler (see :func:`compiler`)."""
    lib, root = folder / "lib", folder / "root"
    lib.mkdir(parents=True, exist_ok=True)
    major, minor = (int(x) for x in cuda.split("."))
    number = 1000 * major + 10 * minor
    cc_major, cc_minor = compute.split(".")
    build_nvml(
        lib,
        DRIVER=f'"{driver}"',
        CUDA=number,
        GPU_NAME=f'"{gpu}"',
        GPU_MEMORY=memory_mib * 1024 * 1024,
        CC_MAJOR=cc_major,
        CC_MINOR=cc_minor,
    )
    build_libcuda(lib, CUDA=number)
    table = folder / "nvidia-smi-table.txt"
    table.write_text(TABLE.read_text().replace("550.40.07", driver).replace("12.4", cuda))
    query = folder / "nvidia-smi-query.txt"
    query.write_text(
        f"driver_version, name, compute_cap, memory.total [MiB]\n"
        f"{driver}, {gpu}, {compute}, {memory_mib}\n"
    )
    smi = fake_nvidia_smi(folder / "bin", table=table, query=query)
    proc = root / "proc" / "driver" / "nvidia" / "version"
    proc.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROC_580, proc)
    return {"LD_LIBRARY_PATH": str(lib), "PATH": str(smi.parent), "CUDAENV_HOST_ROOT": str(root)}
