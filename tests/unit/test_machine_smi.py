"""nvidia-smi of R610 drivers: ``KMD Version`` / ``CUDA UMD Version`` beside the old labels.

NVIDIA's nvidia-smi documentation deprecates ``Driver Version`` and ``CUDA Version`` in favour
of ``KMD Version`` and ``CUDA UMD Version``; the R610 table header prints only the new labels
(verbatim captures in tests/data/nvidia-smi, sources in its README). The probe reads the header,
and ``nvidia-smi -q`` where the header gives no max CUDA; the fake ``nvidia-smi`` prints captures.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from cudaenv.driver import DriverVersion
from cudaenv.machine import Host, ProbeError
from cudaenv.machine.parse import parse_smi_header, parse_smi_report
from cudaenv.machine.probes import _from_nvidia_smi
from tests.tools.fake_driver import fake_nvidia_smi

SMI = Path(__file__).resolve().parents[1] / "data" / "nvidia-smi"

# No public verbatim `nvidia-smi -q` of an R610 driver was found (tests/data/nvidia-smi/README.md):
# these reports are built from the labels NVIDIA documents, in the layout of the 460.56 capture,
# with the deprecation notice R610 prints (quoted in PrismML-Eng/Bonsai-demo#122).
NOTICE = "[Deprecated; will be removed in CUDA 14.0. Use CUDA UMD Version instead]"
R610_NEW_ONLY = """
==============NVSMI LOG==============

Timestamp                                 : Sun Jun  7 08:16:57 2026
KMD Version                               : 610.43.02
CUDA UMD Version                          : 13.3

Attached GPUs                             : 1
"""
R610_BOTH = f"""
==============NVSMI LOG==============

Timestamp                                 : Sun Jun  7 08:16:57 2026
Driver Version                            : 610.43.02 [Deprecated; will be removed in CUDA 14.0. Use KMD Version instead]
KMD Version                               : 610.43.02
CUDA Version                              : {NOTICE}
CUDA UMD Version                          : 13.3
"""  # noqa: E501


def host(tmp_path: Path, bin_dir: Path) -> Host:
    (tmp_path / "root").mkdir(exist_ok=True)
    return Host(
        root=tmp_path / "root",
        path=str(bin_dir),
        nvml_names=(str(tmp_path / "no-libnvidia-ml.so.1"),),
        cuda_names=(str(tmp_path / "no-libcuda.so.1"),),
        environ={"PATH": "/usr/bin:/bin"},
        timeout=10.0,
    )


@pytest.mark.parametrize(
    ("capture", "driver", "cuda"),
    [
        ("table-610.43.02-rtx-5070.txt", "610.43.02", "13.3"),
        ("table-610.43.02-b200.txt", "610.43.02", "13.3"),
        ("table-550.40.07-rtx-4070.txt", "550.40.07", "12.4"),  # the old labels still read
    ],
)
def test_header_both_spellings(capture: str, driver: str, cuda: str) -> None:
    info = parse_smi_header((SMI / capture).read_text())
    assert str(info.driver_version) == driver
    assert info.max_cuda == Version(cuda)


@pytest.mark.parametrize(
    ("text", "driver", "cuda"),
    [
        ((SMI / "q-460.56-gtx-960.txt").read_text(), "460.56", "11.2"),
        ((SMI / "q-375.82-no-cuda-line.txt").read_text(), "375.82", None),
        (R610_NEW_ONLY, "610.43.02", "13.3"),
        (R610_BOTH, "610.43.02", "13.3"),
    ],
)
def test_report_both_spellings(text: str, driver: str, cuda: str | None) -> None:
    info = parse_smi_report(text)
    assert str(info.driver_version) == driver
    assert info.max_cuda == (Version(cuda) if cuda else None)


def test_report_new_label_wins_over_the_deprecated_one() -> None:
    text = R610_BOTH.replace(
        "Driver Version                            : 610.43.02",
        "Driver Version                            : 600.1.1",
    )
    assert parse_smi_report(text).driver_version == DriverVersion.parse("610.43.02")


def test_report_deprecation_notice_alone_is_no_version() -> None:
    text = R610_NEW_ONLY.replace("CUDA UMD Version                          : 13.3\n", "")
    text = text.replace(
        "\nAttached", f"CUDA Version                              : {NOTICE}\n\nAttached"
    )
    assert parse_smi_report(text).max_cuda is None


@pytest.mark.parametrize("capture", ["table-550.40.07-rtx-4070.txt", "failed-no-driver.txt"])
def test_report_refuses_what_is_not_a_report(capture: str) -> None:
    with pytest.raises(ProbeError, match="no 'KMD Version' or 'Driver Version'"):
        parse_smi_report((SMI / capture).read_text())


def test_probe_reads_an_r610_header_without_asking_q(tmp_path: Path) -> None:
    smi = fake_nvidia_smi(
        tmp_path / "bin",
        table=SMI / "table-610.43.02-rtx-5070.txt",
        query=SMI / "query-570.86.15-with-header.txt",
        report=SMI / "q-460.56-gtx-960.txt",
    )
    info = _from_nvidia_smi(host(tmp_path, smi.parent))
    assert info is not None
    assert info.max_cuda == Version("13.3")
    calls = (smi.parent / "calls.log").read_text().splitlines()
    assert "-q" not in calls


def test_probe_asks_q_where_the_header_has_no_cuda(tmp_path: Path) -> None:
    report = tmp_path / "q.txt"
    report.write_text(R610_NEW_ONLY)
    smi = fake_nvidia_smi(
        tmp_path / "bin",
        table=SMI / "table-331.62-no-cuda-column.txt",
        query=SMI / "query-invalid-field.txt",
        query_rc=2,
        report=report,
    )
    info = _from_nvidia_smi(host(tmp_path, smi.parent))
    assert info is not None
    assert str(info.driver_version) == "331.62"  # the header's, which is known, wins
    assert info.max_cuda == Version("13.3")  # filled in from -q
    assert (smi.parent / "calls.log").read_text().splitlines()[-1] == "-q"


def test_probe_falls_back_to_q_where_the_header_has_no_label(tmp_path: Path) -> None:
    table = tmp_path / "table.txt"  # a header in a layout no parser knows
    table.write_text("| NVIDIA-SMI 999.1   Kernel Driver: 999.1   CUDA: 14.0 |\n")
    smi = fake_nvidia_smi(
        tmp_path / "bin", table=table, query=SMI / "query-invalid-field.txt", query_rc=2,
        report=SMI / "q-460.56-gtx-960.txt",
    )  # fmt: skip
    info = _from_nvidia_smi(host(tmp_path, smi.parent))
    assert info is not None
    assert (str(info.driver_version), info.max_cuda) == ("460.56", Version("11.2"))


def test_probe_keeps_the_header_error_when_q_fails_too(tmp_path: Path) -> None:
    table = tmp_path / "table.txt"
    table.write_text("| NVIDIA-SMI 999.1   Kernel Driver: 999.1 |\n")
    smi = fake_nvidia_smi(
        tmp_path / "bin", table=table, query=SMI / "query-invalid-field.txt", query_rc=2,
        report=SMI / "failed-no-driver.txt", report_rc=9,
    )  # fmt: skip
    with pytest.raises(ProbeError, match="no 'Driver Version'"):
        _from_nvidia_smi(host(tmp_path, smi.parent))
