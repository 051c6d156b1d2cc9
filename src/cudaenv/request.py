"""What the user asks for (:class:`Request`) and what we resolve for (:class:`Target`).

Shared by the solver and the lock; the CLI only builds them. Parsing from argv strings happens in
the ``from_*`` constructors and nowhere else.
"""

from __future__ import annotations

import platform as _platform
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from packaging import tags
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from cudaenv.errors import UsageError

if TYPE_CHECKING:
    from packaging.requirements import Requirement

__all__ = [
    "FRAMEWORK_ORDER",
    "FrameworkRequest",
    "Request",
    "Target",
    "default_platform",
    "host_platform",
]

_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")
_LEGACY_MANYLINUX = {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}
_FRAMEWORK_ALIASES = {
    "tf": "tensorflow",
    "tensorflow": "tensorflow",
    "spacy": "spacy",
    "torch": "torch",
    "pytorch": "torch",
    "jax": "jax",
}
# What a hint shows for each framework: a line, a release, the two ends of a range.
_EXAMPLES = {
    "tensorflow": ("2.15", "2.15.1", "2.15", "2.17"),
    "torch": ("2.7", "2.7.1", "2.7", "2.9"),
    "jax": ("0.7", "0.7.2", "0.7", "0.9"),
    "spacy": ("3.7", "3.7.5", "3.7", "3.9"),
}
# The order frameworks are solved and listed in: the ones that pin their CUDA wheels first.
FRAMEWORK_ORDER = ("tensorflow", "torch", "jax", "spacy")


def host_platform() -> str:
    """The newest manylinux tag this machine's glibc supports, e.g. ``manylinux_2_36_x86_64``
    (see :mod:`cudaenv.machine.libc`)."""
    from cudaenv.machine import libc

    return libc.host_platform()


def default_platform() -> str:
    """The target tag without ``--platform``: portable ``manylinux_2_28`` for this
    architecture (this machine's glibc where older), not the newest tag this machine runs."""
    from cudaenv.machine import libc

    return libc.default_platform()


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """The Python and platform an environment is resolved for; never the running interpreter."""

    python: Version  # e.g. 3.11 (major.minor)
    platform: str  # a manylinux tag: manylinux_2_28_x86_64
    # The interpreter's own version (3.11.7), when it is known: markers' python_full_version.
    # Unknown (a target given as X.Y): X.Y.0. Not part of the target's identity.
    full_version: Version | None = field(default=None, compare=False)

    def on_interpreter(self, version: str) -> Target:
        """This target, evaluated for an interpreter of that full version (``3.11.7``); the
        same target when the version is not of this X.Y."""
        try:
            full = Version(version)
        except InvalidVersion:
            return self
        return replace(self, full_version=full) if full.release[:2] == self.python_tuple else self

    @classmethod
    def from_strings(cls, python: str | None, platform: str | None) -> Target:
        """Parse ``--python`` and ``--platform``; defaults: this Python, and the portable
        :func:`default_platform` (a lock made here installs on older nodes too)."""
        major, minor, _ = _platform.python_version_tuple()
        py_text = f"{major}.{minor}" if python is None else python
        try:
            py = Version(py_text)
        except InvalidVersion as e:
            raise UsageError(
                f"--python {py_text!r} is not a Python version", hint="use e.g. --python 3.11"
            ) from e
        plain = str(py) == py.base_version and not py.epoch  # no 3.11rc1, 3.11+local, 1!3.11
        if py.release[0] != 3 or len(py.release) not in (2, 3) or not plain:
            raise UsageError(  # 3.11 or 3.11.7; not 3.11.7.1
                f"--python {py_text!r} is not a Python 3 version (3.X or 3.X.Y)",
                hint="use e.g. --python 3.11",
            )
        plat = default_platform() if platform is None else platform
        cls._glibc_arch(plat)  # validate
        return cls(python=Version(f"{py.release[0]}.{py.release[1]}"), platform=plat)

    @staticmethod
    def _glibc_arch(plat: str) -> tuple[tuple[int, int], str]:
        m = _MANYLINUX.match(plat)
        if m:
            return (int(m.group(1)), int(m.group(2))), m.group(3)
        for legacy, glibc in _LEGACY_MANYLINUX.items():
            if plat.startswith(legacy + "_"):
                return glibc, plat[len(legacy) + 1 :]
        raise UsageError(
            f"--platform {plat!r} is not a manylinux tag",
            hint="use e.g. --platform manylinux_2_28_x86_64 (cudaenv targets Linux)",
        )

    @property
    def glibc(self) -> tuple[int, int]:
        return self._glibc_arch(self.platform)[0]

    @property
    def arch(self) -> str:
        return self._glibc_arch(self.platform)[1]

    @property
    def python_tuple(self) -> tuple[int, int]:
        return (self.python.release[0], self.python.release[1])

    def platform_tags(self) -> list[str]:
        """manylinux tags from the target glibc down to 2.5, then the legacy aliases."""
        major, minor = self.glibc
        out = [f"manylinux_{major}_{m}_{self.arch}" for m in range(minor, 4, -1)]
        out += [f"{alias}_{self.arch}" for alias, g in _LEGACY_MANYLINUX.items() if g <= self.glibc]
        return [*out, f"linux_{self.arch}"]

    def supported_tags(self) -> list[tags.Tag]:
        """Wheel tags in priority order (best first) for this target."""
        plats = self.platform_tags()
        return [
            *tags.cpython_tags(self.python_tuple, platforms=plats),
            *tags.compatible_tags(self.python_tuple, platforms=plats),
        ]

    def marker_environment(self) -> dict[str, str]:
        """The PEP 508 environment of the target, for evaluating markers."""
        py = f"{self.python_tuple[0]}.{self.python_tuple[1]}"
        full = str(self.full_version) if self.full_version is not None else f"{py}.0"
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": "posix",
            "platform_machine": self.arch,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": full,
            "python_version": py,
            "sys_platform": "linux",
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameworkRequest:
    """One framework asked for: ``--tf 2.15`` is ``tensorflow ==2.15.*``, ``--tf 2.15.0`` exact."""

    name: NormalizedName
    specifier: SpecifierSet
    text: str  # what the user typed, for messages

    @classmethod
    def from_string(cls, framework: str, text: str) -> FrameworkRequest:
        name = canonicalize_name(_FRAMEWORK_ALIASES.get(framework.lower(), framework))
        raw = text.strip()
        try:
            if raw and raw[0].isdigit():
                ver = Version(raw)
                spec = SpecifierSet(f"=={raw}.*" if len(ver.release) <= 2 else f"=={raw}")
            else:
                spec = SpecifierSet(raw)
        except (InvalidVersion, InvalidSpecifier) as e:
            line, exact, low, high = _EXAMPLES.get(name, _EXAMPLES["tensorflow"])
            raise UsageError(
                f"{text!r} is not a {name} version",
                hint=f"give a release line such as {line}, an exact release such as {exact}, "
                f"or a specifier such as '>={low},<{high}' (see `cudaenv matrix`)",
            ) from e
        return cls(name=name, specifier=spec, text=raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """Everything the solver needs from the user, apart from the machine."""

    frameworks: tuple[FrameworkRequest, ...]
    target: Target
    pre: bool = False
    allow_sdist: bool = False
    gpu: bool = True  # add the CUDA stack; False resolves a CPU-only environment
    # Packages beyond the frameworks, as roots (``cudaenv kernel --install-ipykernel``), and
    # the pins they must fit (what the environment already has), as constraints only.
    packages: tuple[Requirement, ...] = ()
    fixed: tuple[Requirement, ...] = ()

    @classmethod
    def from_args(
        cls,
        *,
        tf: str | None,
        spacy: str | None,
        python: str | None,
        platform: str | None,
        pre: bool = False,
        allow_sdist: bool = False,
        gpu: bool = True,
        torch: str | None = None,
        jax: str | None = None,
    ) -> Request:
        asked = {"tensorflow": tf, "torch": torch, "jax": jax, "spacy": spacy}
        fws = tuple(
            FrameworkRequest.from_string(name, text)
            for name in FRAMEWORK_ORDER
            if (text := asked[name])
        )
        if not fws:
            raise _nothing_asked()
        return cls(
            frameworks=fws,
            target=Target.from_strings(python, platform),
            pre=pre,
            allow_sdist=allow_sdist,
            gpu=gpu,
        )

    def framework(self, name: str) -> FrameworkRequest | None:
        for f in self.frameworks:
            if f.name == name:
                return f
        return None


def _nothing_asked() -> UsageError:
    """No framework asked for: the newest line of each that the recipes know, as the way out."""
    from cudaenv.errors import Remedy
    from cudaenv.knowledge import load

    know = load()
    tf = max((t.line for t in know.tensorflow if not t.pre_release_only), default=None)
    sp = max((s.line for s in know.spacy), default=None)
    options = [("--tf", str(tf)) if tf else None, ("--spacy", str(sp)) if sp else None]
    remedies = tuple(Remedy.use(o, verb="add") for o in options if o is not None)
    return UsageError("nothing to solve: no framework was asked for", remedies=remedies)
