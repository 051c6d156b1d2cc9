"""Releases newer than the knowledge base: solved from their own metadata, said to be uncurated.

The day TensorFlow 2.22.0 or spaCy 3.9.0 appears, the recipes do not know its line yet. Where
the release's METADATA says what the recipes would (TensorFlow's CUDA extra pins the NVIDIA
wheels, from which the CUDA and cuDNN follow; spaCy's ``cudaNNx`` extras name the CuPy build of
each CUDA major), a line is derived from it, the solve goes on with the knowledge base so
extended, and the resolution says the line is not curated. Where the metadata cannot tell (no
extra pins a CUDA runtime wheel, no driver floor for its CUDA major), nothing is derived and the
solve refuses with that reason. With ``--pre`` a line that has only pre-releases so far (spaCy
4.0.0.dev3) is derived the same way from its newest pre-release. The derivation is pure
(:func:`tf_line`, :func:`spacy_line`); :func:`extend` reads the pages and one METADATA per new
line, from the index client itself (it runs before the factory exists: a :class:`.catalog.Pages`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv.knowledge.lines import FrozenMap, SpacyLine, TfLine
from cudaenv.solver.requirements import admits

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from cudaenv.index import CoreMetadata, FileLink
    from cudaenv.knowledge import Knowledge
    from cudaenv.request import Request
    from cudaenv.solver.rules.catalog import Pages

__all__ = ["Extended", "cuda_extra", "extend", "spacy_line", "tf_line"]

_RUNTIME = re.compile(r"^nvidia-cuda-runtime(-cu(?P<major>\d+))?$")
_SPACY_EXTRA = re.compile(r"^cuda(?P<major>\d+)x$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Extended:
    """The knowledge base with the lines derived for this request, what to tell the user, and
    for each framework whose new releases could not be derived, why."""

    knowledge: Knowledge
    notes: tuple[str, ...] = ()
    unknown: Mapping[str, str] = field(default_factory=dict)


def _floor(spec: SpecifierSet) -> Version | None:
    """major.minor of the lowest release ``spec`` allows (``>=12.5.82,<13`` -> 12.5)."""
    bounds = [Version(s.version.rstrip(".*")) for s in spec if s.operator in (">=", "==", "~=")]
    low = max(bounds, default=None)
    return None if low is None else Version(f"{low.major}.{low.minor}")


def _plain(req: Requirement) -> Requirement:
    return Requirement(f"{req.name}{req.specifier}")


def cuda_extra(meta: CoreMetadata) -> tuple[str, tuple[Requirement, ...]] | None:
    """The extra of a release that pins an NVIDIA CUDA runtime wheel, with its requirements."""
    for extra in meta.provides_extra:
        reqs = tuple(
            _plain(r)
            for r in meta.requires_dist
            if r.marker is not None
            and r.marker.evaluate({"extra": extra})
            and not r.marker.evaluate({"extra": ""})
        )
        if any(_RUNTIME.match(canonicalize_name(r.name)) for r in reqs):
            return str(extra), reqs
    return None


def tf_line(meta: CoreMetadata, knowledge: Knowledge) -> TfLine | str:
    """The line of a TensorFlow release the recipes do not know, from its METADATA; or why the
    metadata cannot tell which CUDA it needs."""
    found = cuda_extra(meta)
    if found is None:
        return "no extra of it pins an NVIDIA CUDA runtime wheel"
    extra, wheels = found
    by_name = {canonicalize_name(r.name): r for r in wheels}
    runtime = next(r for n, r in by_name.items() if _RUNTIME.match(n))
    cuda = _floor(runtime.specifier)
    cudnn = next(
        (_floor(r.specifier) for n, r in by_name.items() if n.startswith("nvidia-cudnn")), None
    )
    if cuda is None or cudnn is None:
        return f"its {extra} extra gives no lower bound for the CUDA runtime or cuDNN"
    if knowledge.floor_for(cuda) is None:
        return f"cudaenv's driver table has no floor for CUDA {cuda.major}"
    like = max(
        (t for t in knowledge.tensorflow if t.cuda_major == cuda.major),
        key=lambda t: t.line,
        default=None,
    )
    version = meta.version
    return TfLine(
        line=Version(f"{version.major}.{version.minor}"),
        cuda=cuda,
        cudnn=cudnn,
        cuda_major=cuda.major,
        python=meta.requires_python or SpecifierSet(),
        extra=extra,
        wheels=wheels,
        requirements=(),
        constraints=(),
        min_cuda=Version(f"{cuda.major}.0"),
        sonames=like.sonames if like is not None and like.cudnn.major == cudnn.major else (),
        env=like.env if like is not None else FrozenMap(),
        path=like.path if like is not None else (),
        bad=FrozenMap(),
        known_bad=(),
        notes=FrozenMap(),
        pre_release_only=False,
        source=f"PyPI metadata of tensorflow=={version}",
    )


def spacy_line(meta: CoreMetadata, knowledge: Knowledge) -> SpacyLine | str:
    """The line of a spaCy release the recipes do not know: its thinc range and ``cudaNNx``
    extras (each installing ``cupy-cudaNNx``) from METADATA; what spaCy imports without
    declaring it, as the newest known line says."""
    gpu_extras = {}
    for extra in meta.provides_extra:
        m = _SPACY_EXTRA.match(extra)
        cupy = f"cupy-cuda{m.group('major')}x" if m else None
        if m and any(
            canonicalize_name(r.name) == cupy and r.marker and r.marker.evaluate({"extra": extra})
            for r in meta.requires_dist
        ):
            gpu_extras[int(m.group("major"))] = str(extra)
    thinc = next(
        (r.specifier for r in meta.requires_dist if canonicalize_name(r.name) == "thinc"), None
    )
    if thinc is None:
        return "it declares no thinc"
    like = max(knowledge.spacy, key=lambda s: s.line, default=None)
    version = meta.version
    return SpacyLine(
        line=Version(f"{version.major}.{version.minor}"),
        thinc=thinc,
        python=meta.requires_python or SpecifierSet(),
        gpu_extras=FrozenMap(gpu_extras),
        requirements=like.requirements if like is not None else (),
        constraints=(),
        source=f"PyPI metadata of spacy=={version}",
    )


_LABELS = {"tensorflow": "TensorFlow", "spacy": "spaCy"}


def extend(knowledge: Knowledge, request: Request, pages: Pages) -> Extended:
    """``knowledge`` with a line for each final release the request admits whose line the
    recipes lack, derived from the METADATA of the newest such release of the line. Cost: the
    frameworks' pages (the solve reads them anyway) and one METADATA per new line."""
    out, notes, unknown = knowledge, [], {}
    for fw in request.frameworks:
        if fw.name not in _LABELS:
            continue
        known = knowledge.tensorflow if fw.name == "tensorflow" else knowledge.spacy
        links = [lk for lk in pages.project(fw.name) if lk.version is not None and lk.is_wheel]
        new = _new_releases(links, known, fw.specifier, pre=request.pre)
        for newest in new:
            derived = _derive(fw.name, pages.metadata(newest), out)
            if isinstance(derived, str):
                unknown[str(fw.name)] = f"{_LABELS[fw.name]} {newest.version}: {derived}"
                continue
            out = _with_line(out, derived)
            notes.append(_note(fw.name, derived, newest))
    return Extended(knowledge=out, notes=tuple(notes), unknown=unknown)


def _new_releases(
    links: Sequence[FileLink], known: Sequence[TfLine | SpacyLine], spec: SpecifierSet, *, pre: bool
) -> list[FileLink]:
    """A wheel of the newest admitted release of each line the recipes lack: its newest final
    release, or with ``pre`` where the line has none yet (spaCy 4.0 while only 4.0.0.dev3 is
    out), its newest pre-release. A line with a final release is derived from that, since a
    pre-release's metadata may be looser (docs/facts.md, "Pre-releases")."""
    newest: dict[tuple[bool, int, int], FileLink] = {}  # (final, major, minor)
    for link in links:
        v = link.version
        assert v is not None
        if (v.is_prerelease and not pre) or not admits(spec, v, pre=pre):
            continue
        if any(k.contains(v) for k in known):
            continue
        key = (not v.is_prerelease, v.major, v.minor)
        held = newest.get(key)
        if held is None or (held.version is not None and v > held.version):
            newest[key] = link
    lines = sorted({(major, minor) for _, major, minor in newest})
    return [newest.get((True, ma, mi)) or newest[(False, ma, mi)] for ma, mi in lines]


def _derive(name: str, meta: CoreMetadata, knowledge: Knowledge) -> TfLine | SpacyLine | str:
    return tf_line(meta, knowledge) if name == "tensorflow" else spacy_line(meta, knowledge)


def _with_line(knowledge: Knowledge, line: TfLine | SpacyLine) -> Knowledge:
    if isinstance(line, TfLine):
        return replace(knowledge, tensorflow=(*knowledge.tensorflow, line))
    return replace(knowledge, spacy=(*knowledge.spacy, line))


def _note(name: str, line: TfLine | SpacyLine, link: FileLink) -> str:
    label = _LABELS[name]
    if isinstance(line, TfLine):
        what = f"its {line.extra} extra: CUDA {line.cuda}, cuDNN {line.cudnn}"
    else:
        extras = ", ".join(f"CUDA {m}: {e}" for m, e in sorted(line.gpu_extras.items()))
        what = f"its GPU extras: {extras or 'none'}"
    pre = ", a pre-release taken for --pre" if link.version and link.version.is_prerelease else ""
    return (
        f"{label} {line.line} is not yet curated in cudaenv's recipes: what it needs comes from "
        f"the metadata of {name} {link.version}{pre} ({what})"
    )
