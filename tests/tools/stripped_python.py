"""A Python without ``ensurepip``, as Debian and Ubuntu ship one when python3-venv is missing.

Made from the interpreter running the tests: its executable copied into a new prefix whose
``lib/pythonX.Y`` holds links to every module of the real standard library but ``ensurepip``
(and an empty site-packages). Python finds its standard library next to its executable, so this
is a real interpreter whose ``python -m venv`` fails for want of ensurepip and whose
``python -m venv --without-pip`` works, exactly like the distributions' own.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

__all__ = ["python_without_ensurepip"]


def python_without_ensurepip(folder: Path) -> Path | None:
    """The stripped interpreter in ``folder``, or None where this Python's layout does not allow
    one (its stdlib not under ``base_prefix/lib/pythonX.Y``)."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    executable = Path(sys.base_prefix) / "bin" / f"python{version}"
    if stdlib != Path(sys.base_prefix) / "lib" / f"python{version}" or not executable.is_file():
        return None
    lib = folder / "lib" / f"python{version}"
    (folder / "bin").mkdir(parents=True)
    lib.mkdir(parents=True)
    for entry in stdlib.iterdir():
        if entry.name not in ("ensurepip", "site-packages"):
            (lib / entry.name).symlink_to(entry)
    (lib / "site-packages").mkdir()
    python = folder / "bin" / f"python{version}"
    shutil.copy2(executable, python)
    check = subprocess.run(
        [str(python), "-c", "import ensurepip"], capture_output=True, check=False
    )
    return python if check.returncode != 0 else None
