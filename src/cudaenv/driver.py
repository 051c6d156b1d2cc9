"""An NVIDIA driver version as one value: read once where it enters, written as NVIDIA writes it.

Driver versions come from the command line (``--driver``), the knowledge base's TOML, what the
driver's own tools print (``nvidia-smi``, NVML, ``/proc``) and lockfiles. ``packaging``'s
``Version`` would compare them but prints 450.80.02 as 450.80.2, a version NVIDIA never
released; a bare string prints right but compares 470.82.01 > 1000.0 wrong. :class:`DriverVersion`
does both: it orders by the numbers and prints the text it was read from (leading zeros kept).

    >>> DriverVersion.parse("450.80.02") < DriverVersion.parse("535.104.05")
    True
    >>> str(DriverVersion.parse("450.80.02"))
    '450.80.02'

It imports nothing of cudaenv, so every stage (knowledge, machine, solver, lock) may use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["DriverVersion", "InvalidDriverVersion"]

# 535.104.05, 418.39, 390.157 (Linux, x86 and Arm servers), 540.4.0 (Jetson): two or three
# numbers. Leading zeros are part of how NVIDIA writes them.
_DRIVER = re.compile(r"\d{1,4}\.\d{1,4}(?:\.\d{1,4})?")


class InvalidDriverVersion(ValueError):
    """The text is not an NVIDIA driver version (each edge turns this into its own error)."""


@dataclass(frozen=True, slots=True, order=True)
class DriverVersion:
    """An NVIDIA driver version (535.104.05). Ordered, equal and hashed by its numbers
    (450.80.2 == 450.80.02); printed as the text it was read from."""

    numbers: tuple[int, ...] = field(init=False, repr=False)
    text: str = field(compare=False)

    def __post_init__(self) -> None:
        if not _DRIVER.fullmatch(self.text):
            raise InvalidDriverVersion(
                f"{self.text!r} is not an NVIDIA driver version (like 535.104.05)"
            )
        object.__setattr__(self, "numbers", tuple(int(n) for n in self.text.split(".")))

    @classmethod
    def parse(cls, text: str) -> DriverVersion:
        """Read a driver version as a tool or a person writes it (surrounding blanks dropped)."""
        return cls(text.strip())

    @property
    def major(self) -> int:
        """The driver branch: 535 for 535.104.05."""
        return self.numbers[0]

    def __str__(self) -> str:
        return self.text
