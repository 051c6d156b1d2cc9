"""Pure parsers for what the driver's tools and files print. No I/O here: each function takes
text (or a number) and returns a value, or raises :class:`ProbeError` if the text is garbled.

They are tested on verbatim captures in ``tests/data/nvidia-smi`` and ``tests/data/proc``.
Drivers of the R610 series label the driver version ``KMD Version`` and the max CUDA ``CUDA UMD
Version`` (NVIDIA's nvidia-smi documentation deprecates ``Driver Version`` and ``CUDA Version``);
both spellings are read, in the table's header and in ``nvidia-smi -q``.
"""

from __future__ import annotations

import csv
import re
from typing import TYPE_CHECKING, TypeVar

from packaging.version import Version

from cudaenv.driver import DriverVersion, InvalidDriverVersion
from cudaenv.machine.values import DriverInfo, Gpu, ProbeError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "cuda_from_int",
    "parse_cuda_version",
    "parse_driver_version",
    "parse_proc_version",
    "parse_smi_header",
    "parse_smi_query",
    "parse_smi_report",
    "parse_sys_module_version",
]

T = TypeVar("T")
_CUDA = re.compile(r"(\d{1,3})(?:\.(\d{1,3}))?(?:\.\d{1,4})?")
_SMI_DRIVER = re.compile(r"(?:KMD|Driver) Version:\s*(\S+)")
_SMI_CUDA = re.compile(r"CUDA (?:UMD )?Version:\s*(\S+)")
# ``nvidia-smi -q``: "KMD Version      : 610.43.02" at the top of the report, not indented; the
# new label first, the deprecated one where the new is missing or holds no version.
_Q_LINE = re.compile(r"^(KMD Version|Driver Version|CUDA UMD Version|CUDA Version)\s*:\s*(.*)$")
_Q_DRIVER = ("KMD Version", "Driver Version")
_Q_CUDA = ("CUDA UMD Version", "CUDA Version")
_PROC = re.compile(r"NVRM version:.*?Kernel Module(?: for \S+)?\s+(\S+)")
_MISSING = {"", "N/A", "[N/A]", "[Not Supported]", "[Unknown Error]", "[Insufficient Permissions]"}


def parse_driver_version(text: str) -> DriverVersion:
    """An NVIDIA driver version as a driver tool prints it ("535.104.05", blanks dropped)."""
    try:
        return DriverVersion.parse(text)
    except InvalidDriverVersion as e:
        raise ProbeError(str(e)) from None


def parse_cuda_version(text: str) -> Version:
    """A CUDA version as major.minor: "12.4" -> 12.4, "12" -> 12.0, "12.4.1" -> 12.4."""
    match = _CUDA.fullmatch(text.strip())
    if match is None:
        raise ProbeError(f"{text.strip()!r} is not a CUDA version (like 12.4)")
    return Version(f"{int(match[1])}.{int(match[2] or 0)}")


def cuda_from_int(value: int) -> Version:
    """The CUDA driver API's integer (1000 * major + 10 * minor) as a version: 12020 -> 12.2."""
    if value <= 0:
        raise ProbeError(f"the driver reported CUDA version {value}, which is not a version")
    return Version(f"{value // 1000}.{(value % 1000) // 10}")


def parse_smi_header(text: str) -> DriverInfo:
    """Driver version and max CUDA from the header of plain ``nvidia-smi`` output.

    R610 drivers print "KMD Version" and "CUDA UMD Version" instead. Old drivers print no CUDA
    version and some hosts print "N/A": then max CUDA is unknown.
    """
    driver = _SMI_DRIVER.search(text)
    if driver is None:
        raise ProbeError(
            f"nvidia-smi printed no 'Driver Version' (nor 'KMD Version'): {_first_line(text)!r}"
        )
    cuda = _SMI_CUDA.search(text)
    has_cuda = cuda is not None and cuda[1] not in _MISSING
    return DriverInfo(
        driver_version=parse_driver_version(driver[1]),
        max_cuda=parse_cuda_version(cuda[1]) if has_cuda and cuda else None,
    )


def parse_smi_report(text: str) -> DriverInfo:
    """Driver version and max CUDA from the top of ``nvidia-smi -q`` (``-a``).

    Each of the two spellings is tried, the new one first; a value that is no version (a
    deprecation notice in its place, "N/A") counts as absent.
    """
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _Q_LINE.match(line)
        if match is not None:
            found.setdefault(match[1], match[2].strip())
    driver = _first_parsed(found, _Q_DRIVER, parse_driver_version)
    if driver is None:
        raise ProbeError(
            f"nvidia-smi -q printed no 'KMD Version' or 'Driver Version': {_first_line(text)!r}"
        )
    return DriverInfo(
        driver_version=driver, max_cuda=_first_parsed(found, _Q_CUDA, parse_cuda_version)
    )


def _first_parsed(
    found: dict[str, str], labels: Sequence[str], parse: Callable[[str], T]
) -> T | None:
    for label in labels:
        words = found.get(label, "").split()
        if words and words[0] not in _MISSING:
            try:
                return parse(words[0])
            except ProbeError:
                continue
    return None


def parse_smi_query(text: str, fields: Sequence[str] | None = None) -> DriverInfo:
    """Driver version and GPUs from ``nvidia-smi --query-gpu=... --format=csv[,noheader]``.

    With ``fields=None`` the first line is the CSV header (units such as " [MiB]" are dropped
    from its names), so any column order works; otherwise ``fields`` names the columns.
    """
    rows = [[cell.strip() for cell in row] for row in csv.reader(text.splitlines()) if row]
    if fields is None:
        if not rows:
            raise ProbeError("nvidia-smi printed no CSV header")
        fields = [re.sub(r"\s*\[.*\]$", "", name) for name in rows.pop(0)]
    records = [dict(zip(fields, row, strict=False)) for row in rows]
    for row, record in zip(rows, records, strict=True):
        if len(row) != len(fields) or "name" not in record:
            raise ProbeError(f"nvidia-smi printed a garbled GPU line: {', '.join(row)!r}")
    drivers = {r["driver_version"] for r in records if r.get("driver_version", "") not in _MISSING}
    if len(drivers) > 1:
        raise ProbeError(f"nvidia-smi reported several driver versions: {sorted(drivers)}")
    return DriverInfo(
        driver_version=parse_driver_version(drivers.pop()) if drivers else None,
        gpus=tuple(_gpu(record) for record in records),
    )


def _gpu(record: dict[str, str]) -> Gpu:
    cc = record.get("compute_cap", "")
    memory = record.get("memory.total", "").removesuffix("MiB").strip()
    if memory not in _MISSING and not memory.isdigit():
        raise ProbeError(f"nvidia-smi printed {memory!r} as the memory of {record['name']}")
    return Gpu(
        name=record["name"],
        compute_capability=None if cc in _MISSING else _compute_capability(cc, record["name"]),
        memory_mib=None if memory in _MISSING else int(memory),
    )


def _compute_capability(text: str, gpu: str) -> Version:
    if not re.fullmatch(r"\d{1,2}\.\d{1,2}", text):
        raise ProbeError(f"nvidia-smi printed {text!r} as the compute capability of {gpu}")
    return Version(text)


def parse_sys_module_version(text: str) -> DriverVersion:
    """``/sys/module/nvidia/version`` holds the bare driver version."""
    return parse_driver_version(text)


def parse_proc_version(text: str) -> DriverVersion:
    """The driver version from ``/proc/driver/nvidia/version`` (proprietary or open module)."""
    match = _PROC.search(text)
    if match is None:
        raise ProbeError(f"/proc/driver/nvidia/version is not as expected: {_first_line(text)!r}")
    return parse_driver_version(match[1])


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:200]
