"""The probes, tried in order; each looks in one place and names itself as the source.

Each returns :class:`DriverInfo` when it finds the driver, ``None`` when its thing is absent
(no library, no tool, no file), and raises :class:`ProbeError` when the thing is there but
garbled, crashed or hung. Where they look is a :class:`Host`, so tests can point them at a
fixture root, a PATH with a fake ``nvidia-smi``, or a fake library built for the test.

The ``nvidia-smi`` probe reads ``--query-gpu`` (GPUs) and the table's header (driver, max CUDA),
and ``nvidia-smi -q`` only where the header gives no max CUDA.

Order (override first, then probes, as conda's ``__cuda`` detection does): NVML answers
everything in-process and fast; libcuda
gives the max CUDA the way conda does; ``nvidia-smi`` is the same NVML through a tool that may be
on PATH when the library is not on the loader path; ``/sys``/``/proc`` give the kernel module's
version, when the user-space driver is missing or broken.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.machine import native
from cudaenv.machine.parse import (
    parse_proc_version,
    parse_smi_header,
    parse_smi_query,
    parse_smi_report,
    parse_sys_module_version,
)
from cudaenv.machine.values import DriverInfo, ProbeError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["HOST_ROOT", "PROBES", "SMI_QUERY", "Host", "absent_reasons"]

SMI_QUERY = ("driver_version", "name", "compute_cap", "memory.total")
# Where /proc, /sys, /dev and the container markers are read, instead of /: a container that
# mounts the host's root elsewhere (/host), or a test's fixture tree.
HOST_ROOT = "CUDAENV_HOST_ROOT"


def _root() -> Path:
    return Path(os.environ.get(HOST_ROOT) or "/")


@dataclass(frozen=True, slots=True, kw_only=True)
class Host:
    """Where the probes look. The defaults are this machine."""

    root: Path = field(default_factory=_root)  # /proc, /sys, /dev, /.dockerenv, /run under it
    path: str | None = None  # PATH to find nvidia-smi on (None: the PATH of this process)
    nvml_names: tuple[str, ...] = ("libnvidia-ml.so.1", "/usr/lib/wsl/lib/libnvidia-ml.so.1")
    cuda_names: tuple[str, ...] = (
        "libcuda.so.1",  # the loader path first, then where distributions put it
        "libcuda.so",
        "/usr/lib64/nvidia/libcuda.so.1",
        "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
        "/usr/lib/wsl/lib/libcuda.so.1",
    )
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    timeout: float = 20.0  # seconds for libcuda's child process and each nvidia-smi run


def _from_nvml(host: Host) -> DriverInfo | None:
    lib = native.load_library(host.nvml_names)
    return None if lib is None else native.nvml_info(lib)


def _from_libcuda(host: Host) -> DriverInfo | None:
    return native.run_libcuda(host.cuda_names, timeout=host.timeout, environ=host.environ)


def _from_nvidia_smi(host: Host) -> DriverInfo | None:
    exe = shutil.which("nvidia-smi", path=host.path)
    if exe is None:
        return None
    query = _query(exe, host)
    header = _smi(exe, (), host)
    if header.returncode != 0:
        if query is None:
            raise _smi_failed(header)
        return query
    table = _header_or_report(exe, header.stdout, host)
    return table if query is None else query.merged(table)


def _header_or_report(exe: str, text: str, host: Host) -> DriverInfo:
    """The table's header; where it gives no max CUDA (or cannot be read), ``nvidia-smi -q``
    fills in what it can (one more run, only then). The header's error stands if neither
    answers."""
    try:
        table = parse_smi_header(text)
    except ProbeError:
        report = _report(exe, host)
        if report is None:
            raise
        return report
    if table.max_cuda is not None:
        return table
    report = _report(exe, host)
    return table if report is None else table.merged(report)


def _report(exe: str, host: Host) -> DriverInfo | None:
    """Driver version and max CUDA from ``nvidia-smi -q``; None where it fails or says neither."""
    done = _smi(exe, ("-q",), host)
    if done.returncode != 0:
        return None
    try:
        return parse_smi_report(done.stdout)
    except ProbeError:
        return None


def _query(exe: str, host: Host) -> DriverInfo | None:
    """GPUs from ``--query-gpu``; without ``compute_cap`` on drivers that lack it (< 510)."""
    for fields in (SMI_QUERY, tuple(f for f in SMI_QUERY if f != "compute_cap")):
        done = _smi(exe, (f"--query-gpu={','.join(fields)}", "--format=csv,nounits"), host)
        if done.returncode == 0:
            return parse_smi_query(done.stdout)
        if "not a valid field" not in done.stdout + done.stderr:
            return None  # the plain run below says why, or answers anyway
    return None


def _smi(exe: str, args: tuple[str, ...], host: Host) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [exe, *args],
            capture_output=True,
            errors="replace",  # text; a stray byte must not become a traceback
            timeout=host.timeout,
            env=dict(host.environ),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProbeError(f"nvidia-smi did not answer within {host.timeout:g} s") from None
    except OSError as err:
        raise ProbeError(f"nvidia-smi could not be run: {err}") from None


def _smi_failed(done: subprocess.CompletedProcess[str]) -> ProbeError:
    said = " ".join((done.stdout + done.stderr).split())[:300] or "no output"
    return ProbeError(f"nvidia-smi failed (exit status {done.returncode}): {said}")


def _from_proc(host: Host) -> DriverInfo | None:
    sys_file = host.root / "sys/module/nvidia/version"
    proc_file = host.root / "proc/driver/nvidia/version"
    for path, parse in ((sys_file, parse_sys_module_version), (proc_file, parse_proc_version)):
        try:
            text = path.read_text(errors="replace")
        except FileNotFoundError:
            continue
        except OSError as err:
            raise ProbeError(f"{path} could not be read: {err}") from None
        return DriverInfo(driver_version=parse(text))
    return None


# (source name, probe): the order detection tries them in.
PROBES: tuple[tuple[str, Callable[[Host], DriverInfo | None]], ...] = (
    ("nvml", _from_nvml),
    ("libcuda", _from_libcuda),
    ("nvidia-smi", _from_nvidia_smi),
    ("proc", _from_proc),
)


def absent_reasons(host: Host) -> dict[str, str]:
    """For each probe, what it found missing, in plain words (used when no probe answered)."""
    return {
        "nvml": f"no NVML library ({host.nvml_names[0]}) could be loaded",
        "libcuda": f"no libcuda ({host.cuda_names[0]}) could be loaded",
        "nvidia-smi": "no nvidia-smi on PATH",
        "proc": "no /proc/driver/nvidia/version (the nvidia kernel module is not loaded)",
    }
