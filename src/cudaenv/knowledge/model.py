"""The whole knowledge base as one value, and the questions the other stages ask of it.

:class:`Knowledge` holds every row (frameworks, CUDA <-> driver table, exclusions) and answers
"which line is this release in", "which driver does this CUDA need", "which CUDA does this driver
support". All answers come from the data files; there are no version tables in Python code.

Terms (docs/glossary.md): a *driver version* is 550.54.15; *max CUDA* is the newest CUDA a driver
supports (12.4); the *toolkit driver* is the minimum driver NVIDIA names for a toolkit release;
the *minor-version-compat floor* is the lowest driver on which a whole CUDA major runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from collections.abc import Iterable

    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from cudaenv.driver import DriverVersion
    from cudaenv.knowledge.compat import CompatRule
    from cudaenv.knowledge.lines import (
        CupyLine,
        JaxLine,
        OptionalPart,
        PreloadModules,
        SpacyLine,
        TfLine,
        TorchLine,
    )

__all__ = ["DriverFloor", "Exclusion", "FloorOnly", "Knowledge", "ToolkitDriver"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolkitDriver:
    """One row of NVIDIA's "CUDA Toolkit and Corresponding Driver Versions" table."""

    cuda: Version  # major.minor, e.g. 12.2
    release: str  # NVIDIA's name for the row: "12.2 Update 2"
    driver: DriverVersion
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FloorOnly:
    """A CUDA release NVIDIA has made whose own driver no source read names: only the floor of
    its major (minor-version compatibility) is known. It never raises a driver's max CUDA."""

    cuda: Version  # major.minor, e.g. 13.5
    release: str  # NVIDIA's name for it: "13.5 GA"
    note: str  # what is missing, and why
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DriverFloor:
    """The lowest driver on which any release of one CUDA major runs (minor-version compat)."""

    cuda_major: int
    driver: DriverVersion
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Exclusion:
    """Releases of one package cudaenv never picks, with the reason."""

    name: NormalizedName
    versions: SpecifierSet
    reason: str
    source: str


def _final_and_good(line: TfLine, version: Version, python: Version | None) -> bool:
    return (
        line.contains(version)
        and not version.is_prerelease
        and not line.bad_reason(version, python)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Knowledge:
    """Everything cudaenv knows about framework releases, CUDA and drivers."""

    version: str  # the knowledge base's own version, recorded in lockfiles
    tensorflow: tuple[TfLine, ...]
    spacy: tuple[SpacyLine, ...]
    cupy: tuple[CupyLine, ...]
    toolkit: tuple[ToolkitDriver, ...]
    floors: tuple[DriverFloor, ...]
    exclusions: tuple[Exclusion, ...]
    digest: str = ""  # sha256 of the files it was read from ("" when built in code)
    torch: tuple[TorchLine, ...] = ()
    jax: tuple[JaxLine, ...] = ()
    compat_rules: tuple[CompatRule, ...] = ()
    optional: tuple[OptionalPart, ...] = ()  # parts of a CUDA extra only a feature needs
    floor_only: tuple[FloorOnly, ...] = ()  # releases with no toolkit driver in the sources
    preload: tuple[PreloadModules, ...] = ()  # the recipes' [preload] tables

    @property
    def preload_modules(self) -> frozenset[str]:
        """Top-level modules whose first import starts the start-up hook (every recipe's)."""
        return frozenset(m for p in self.preload for m in p.modules)

    def tf_line(self, version: Version) -> TfLine | None:
        """The line a TensorFlow release belongs to (2.15.1 -> line 2.15), if known."""
        return next((t for t in self.tensorflow if t.contains(version)), None)

    def tf_lines_for(self, max_cuda: Version) -> tuple[TfLine, ...]:
        """The TensorFlow lines a driver with this max CUDA can run (their __cuda floor fits).

        For hints such as "or use --tf 2.14": 11.4 -> 2.12, 2.13, 2.14 (CUDA 11.x builds run
        on any CUDA 11 driver under minor-version compatibility).
        """
        return tuple(t for t in self.tensorflow if t.min_cuda <= max_cuda)

    def newest_tf_line_for(
        self,
        max_cuda: Version | None,
        python: Version | None = None,
        releases: Iterable[Version] = (),
    ) -> TfLine | None:
        """The newest TensorFlow line with a final release that a driver with ``max_cuda`` runs
        on ``python`` (either None: unknown, so anything goes).

        With ``releases`` (what an index has), only a line with one of them that is final and
        not known-bad on ``python`` counts: 2.14 on Python 3.11 does not (tensorrt pins).
        """
        found = tuple(releases)
        fits = [
            t
            for t in self.tensorflow
            if not t.pre_release_only
            and (max_cuda is None or t.min_cuda <= max_cuda)
            and (python is None or t.python.contains(python))
            and (not found or any(_final_and_good(t, v, python) for v in found))
        ]
        return max(fits, key=lambda t: t.line, default=None)

    def optional_part(self, name: str) -> OptionalPart | None:
        """The optional part of a CUDA extra that package ``name`` belongs to (tensorrt)."""
        wanted = canonicalize_name(name)
        return next((o for o in self.optional if o.covers(wanted)), None)

    def spacy_line(self, version: Version) -> SpacyLine | None:
        """The line a spaCy release belongs to (3.7.5 -> line 3.7), if known."""
        return next((s for s in self.spacy if s.contains(version)), None)

    def cupy_for(self, cuda_major: int) -> CupyLine | None:
        """The CuPy build for a CUDA major (12 -> cupy-cuda12x), if known."""
        return next((c for c in self.cupy if c.cuda_major == cuda_major), None)

    def floor_for(self, cuda: Version) -> DriverFloor | None:
        """The minor-version-compat floor row for ``cuda``'s major, with its source."""
        return next((f for f in self.floors if f.cuda_major == cuda.major), None)

    def min_driver_for(self, cuda: Version) -> DriverVersion | None:
        """Lowest driver that runs CUDA ``cuda`` under minor-version compat (12.x -> 525.60.13)."""
        floor = self.floor_for(cuda)
        return floor.driver if floor else None

    def toolkit_driver(self, cuda: Version) -> DriverVersion | None:
        """The driver NVIDIA's toolkit table names for ``cuda``'s GA release (12.9 -> 575.51.03):
        the driver that runs every feature of that CUDA. Only major.minor of ``cuda`` counts."""
        rows = [t.driver for t in self.toolkit if t.cuda.release == _major_minor(cuda)]
        return min(rows, default=None)

    def runtime_floor(
        self, wheel: str, version: Version
    ) -> tuple[DriverVersion | None, str | None]:
        """The lowest driver that runs CUDA runtime wheel ``wheel`` at ``version``, and the id of
        the rule that says so: under a ``floor`` rule (minor-version compatibility), the floor
        of the wheel's CUDA major (12.9.79 -> 525.60.13); else the toolkit's own driver."""
        name = canonicalize_name(wheel)
        rule = next((r for r in self.rules_for(name) if r.effect == "floor"), None)
        if rule is not None:
            return self.min_driver_for(version), rule.id
        return self.toolkit_driver(version), None

    def max_cuda_for_driver(self, driver: DriverVersion) -> Version | None:
        """Newest CUDA major.minor whose toolkit minimum driver is <= ``driver``.

        535.104.05 -> 12.2, 470.82.01 -> 11.4, 550.54.15 -> 12.4. None below every row (418.39):
        such a driver is known but too old, it runs none of the CUDA releases cudaenv knows
        (:attr:`cudaenv.machine.Machine.too_old`); never read None as "no driver".
        """
        fits = [t.cuda for t in self.toolkit if t.driver <= driver]
        return max(fits, default=None)

    def floor_only_for(self, cuda: Version) -> FloorOnly | None:
        """The ``[[floor_only]]`` row of ``cuda``'s major.minor (13.5.37 -> 13.5 GA), if any."""
        wanted = _major_minor(cuda)
        return next((f for f in self.floor_only if f.cuda.release == wanted), None)

    def newest_toolkit_cuda(self, major: int) -> Version | None:
        """The newest major.minor of ``major`` whose driver the table names (13 -> 13.3)."""
        return max((t.cuda for t in self.toolkit if t.cuda.major == major), default=None)

    def oldest_toolkit(self) -> ToolkitDriver | None:
        """The oldest row of the driver table: below its driver, no CUDA cudaenv knows runs."""
        return min(self.toolkit, key=lambda t: t.driver, default=None)

    def excluded(self, name: str, version: Version) -> str | None:
        """The reason a release is globally known-bad, or None."""
        wanted = canonicalize_name(name)
        for ex in self.exclusions:
            if ex.name == wanted and ex.versions.contains(version, prereleases=True):
                return ex.reason
        return None

    # -- PyTorch and JAX ---------------------------------------------------------------------
    def torch_line(self, version: Version) -> TorchLine | None:
        """The line a torch release belongs to (2.7.1 -> line 2.7), if known."""
        return next((t for t in self.torch if t.contains(version)), None)

    def torch_lines_for(self, max_cuda: Version) -> tuple[TorchLine, ...]:
        """The torch lines a driver with this max CUDA can run (12.4 -> 2.1 ... 2.10)."""
        return tuple(t for t in self.torch if t.min_cuda <= max_cuda)

    def release_needs(self, name: str, version: Version) -> tuple[Requirement, ...]:
        """What release ``version`` of ``name`` needs that its METADATA does not say, from the
        ``needs`` rows of the JAX line of that number (jaxlib 0.4.25 -> ``numpy<2``)."""
        line = self.jax_line(version)
        rows = line.needs if line is not None else ()
        return tuple(r for row in rows if row.applies(name, version) for r in row.requirements)

    def jax_line(self, version: Version) -> JaxLine | None:
        """The line a JAX release belongs to (0.7.2 -> line 0.7), if known."""
        return next((j for j in self.jax if j.contains(version)), None)

    def jax_lines_for(self, max_cuda: Version) -> tuple[JaxLine, ...]:
        """The JAX lines with an extra for some CUDA major a driver with this max CUDA runs."""
        return tuple(j for j in self.jax if any(m <= max_cuda.major for m in j.extras))

    # -- NVIDIA's compatibility rules ---------------------------------------------------------
    def rules_for(self, name: str) -> tuple[CompatRule, ...]:
        """Every rule that speaks about wheel ``name``, in file order."""
        wanted = canonicalize_name(name)
        return tuple(r for r in self.compat_rules if r.covers(wanted))

    def relaxing_rule(self, name: str, pinned: Version, chosen: Version) -> CompatRule | None:
        """The first rule that lets ``chosen`` replace a pin of ``name`` at ``pinned``, if any.

        nvidia-cudnn-cu12 9.3.0.75 -> 9.5.1.17: the cuDNN rule; 8.9.4.25 -> 9.1.0.70: None.
        """
        wanted = canonicalize_name(name)
        return next((r for r in self.rules_for(wanted) if r.allows(wanted, pinned, chosen)), None)

    def caveats_for(self, name: str) -> tuple[CompatRule, ...]:
        """The limits NVIDIA states for wheel ``name``, to repeat when a pin of it is relaxed."""
        return tuple(r for r in self.rules_for(name) if r.effect == "caveat")


def _major_minor(version: Version) -> tuple[int, int]:
    return (version.major, version.minor)
