"""DriverVersion: read from real driver strings, printed back exactly, ordered by the numbers."""

from __future__ import annotations

import json
import pickle

import pytest

from cudaenv.driver import DriverVersion, InvalidDriverVersion

# As NVIDIA's release notes, nvidia-smi and /proc print them (x86, Arm servers, Jetson).
REAL = [
    "450.80.02",
    "535.104.05",
    "418.39",
    "470.82.01",
    "525.60.13",
    "550.135",
    "570.26",
    "580.65.06",
    "384.98",
    "35.3.1",
    "540.4.0",
]


@pytest.mark.parametrize("text", REAL)
def test_round_trip_keeps_the_text(text: str) -> None:
    driver = DriverVersion.parse(text)
    assert str(driver) == text and f"{driver}" == text
    assert DriverVersion.parse(str(driver)) == driver
    assert json.dumps({"driver": str(driver)}) == json.dumps({"driver": text})
    assert pickle.loads(pickle.dumps(driver)) == driver


def test_leading_zeros_stay_and_do_not_change_the_number() -> None:
    nvidia, bare = DriverVersion.parse("450.80.02"), DriverVersion.parse("450.80.2")
    assert str(nvidia) == "450.80.02" and str(bare) == "450.80.2"
    assert nvidia == bare and hash(nvidia) == hash(bare)  # the same driver
    assert nvidia.numbers == (450, 80, 2) and nvidia.major == 450


def test_ordered_by_the_numbers_not_the_text() -> None:
    texts = ["1000.1", "535.104.05", "418.39", "535.54.03", "450.80.02", "535.104", "99.1"]
    ordered = sorted(DriverVersion.parse(t) for t in texts)
    assert [str(d) for d in ordered] == [
        "99.1",
        "418.39",
        "450.80.02",
        "535.54.03",
        "535.104",
        "535.104.05",
        "1000.1",
    ]
    assert DriverVersion.parse("525.60.13") <= DriverVersion.parse("525.60.13")
    assert DriverVersion.parse("470.82.01") > DriverVersion.parse("470.57.02")
    assert len({DriverVersion.parse(t) for t in [*texts, "418.39"]}) == len(texts)


def test_blanks_around_are_dropped_when_parsed() -> None:
    assert str(DriverVersion.parse(" 535.104.05\n")) == "535.104.05"


@pytest.mark.parametrize(
    "text", ["", "535", "banana", "535.x.03", "535.104.05.1", "535.104.05-1", "v535.104", "1.2.3a"]
)
def test_not_a_driver_version(text: str) -> None:
    with pytest.raises(InvalidDriverVersion, match="not an NVIDIA driver version"):
        DriverVersion.parse(text)
    assert issubclass(InvalidDriverVersion, ValueError)


def test_frozen() -> None:
    driver = DriverVersion.parse("535.104.05")
    with pytest.raises(AttributeError):
        driver.text = "1.2"  # type: ignore[misc]


def test_module_docstring_example_runs() -> None:
    import doctest

    import cudaenv.driver

    result = doctest.testmod(cudaenv.driver)
    assert result.attempted > 0 and result.failed == 0
