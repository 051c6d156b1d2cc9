"""The wheels a request's solve is sure to pin, known from the knowledge base before it ends.

What the fetch ahead (:mod:`.ahead`) downloads while the solve runs. It comes from the recipes
and the releases' own METADATA, not from a list kept here:

- the release of each framework the solve will most likely take: the newest of the request's
  specifier on the index that cudaenv may pick (not yanked, no pre-release unless asked for,
  not known-bad in the recipes or the exclusions, of a line the recipes know, with a wheel for
  the target's Python and tags), and that release's wheel;
- the exact pins (``==``) of that release's line in the recipes (a TensorFlow line's NVIDIA
  wheels: its and-cuda extra, or cudaenv's cu11 set before 2.14; an optional part such as
  TensorRT left out);
- the exact pins of that release's METADATA whose markers hold for the target (PyTorch's NVIDIA
  wheels and Triton; TensorFlow's and-cuda extra).

Where two frameworks pin one wheel at different releases, the newest (what a relaxed pin
takes: docs/facts.md, "CUDA library compatibility rules (for relaxing pins)"). For each pinned
release the wheel taken is the one whose tag the target ranks first, as the solver ranks them.
This is a guess: a wheel the solve does not pin is dropped, having cost its bytes.

Cost: the pages and METADATA the solve reads anyway (the index client answers both from what it
has already fetched), nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv.errors import IndexError_

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from packaging.requirements import Requirement
    from packaging.utils import NormalizedName

    from cudaenv.index import FileLink, Index
    from cudaenv.knowledge import Knowledge
    from cudaenv.request import FrameworkRequest, Request, Target

__all__ = ["best_wheel", "exact_pin", "framework_release", "sure_wheels"]

TENSORFLOW = canonicalize_name("tensorflow")


def exact_pin(req: Requirement) -> Version | None:
    """The release ``req`` pins exactly (``==1.2.3``, no wildcard), else None."""
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
        return None
    try:
        return Version(specs[0].version)
    except ValueError:
        return None


def _rank(target: Target) -> dict[object, int]:
    return {tag: n for n, tag in enumerate(target.supported_tags())}


def best_wheel(
    links: Iterable[FileLink], version: Version, rank: dict[object, int]
) -> FileLink | None:
    """The wheel of ``version`` whose best tag the target ranks first (one with a sha256)."""
    best: tuple[int, FileLink] | None = None
    for link in links:
        if not link.is_wheel or link.version != version or not link.sha256:
            continue
        score = min((rank[t] for t in link.tags if t in rank), default=None)
        if score is not None and (best is None or score < best[0]):
            best = (score, link)
    return best[1] if best else None


def _may_pick(
    knowledge: Knowledge, name: NormalizedName, version: Version, python: Version
) -> bool:
    """Whether the recipes let the solve pick this framework release on the GPU path."""
    if knowledge.excluded(name, version):
        return False
    if name == TENSORFLOW:
        line = knowledge.tf_line(version)
        return line is not None and line.bad_reason(version, python) is None
    lookup = {
        "torch": knowledge.torch_line,
        "jax": knowledge.jax_line,
        "spacy": knowledge.spacy_line,
    }
    find = lookup.get(str(name))
    return find is not None and find(version) is not None


def framework_release(
    fw: FrameworkRequest, request: Request, knowledge: Knowledge, client: Index
) -> FileLink | None:
    """The wheel of the release the solve will most likely pick for ``fw`` (see the module's
    docstring). Cost: the framework's page."""
    target = request.target
    full = Version(target.marker_environment()["python_full_version"])
    rank = _rank(target)
    links = client.usable(fw.name)
    versions = sorted(
        {x.version for x in links if x.version is not None and x.yanked is None}, reverse=True
    )
    for version in versions:
        if version.is_prerelease and not (request.pre or fw.specifier.prereleases):
            continue  # the solver takes a pre-release only when asked for
        if not fw.specifier.contains(version, prereleases=True):
            continue
        if not _may_pick(knowledge, fw.name, version, target.python):
            continue
        files = [x for x in links if x.yanked is None and _runs_on(x, full)]
        found = best_wheel(files, version, rank)
        if found is not None:
            return found
    return None


def _runs_on(link: FileLink, python: Version) -> bool:
    return link.requires_python is None or link.requires_python.contains(python, prereleases=True)


def _pins_of(
    release: FileLink, request: Request, knowledge: Knowledge, client: Index
) -> dict[NormalizedName, Version]:
    """The exact pins the recipes and the METADATA of ``release`` give (markers evaluated for
    the target, with the line's CUDA extra)."""
    assert release.name is not None and release.version is not None
    reqs: list[Requirement] = []
    extra = ""
    if release.name == TENSORFLOW:
        line = knowledge.tf_line(release.version)
        if line is not None:
            reqs += line.wheels if line.extra else line.requirements
            extra = line.extra or ""
    reqs += client.metadata(release).requires_dist
    env = request.target.marker_environment()
    pins: dict[NormalizedName, Version] = {}
    for req in reqs:
        version = exact_pin(req)
        if version is None or knowledge.optional_part(req.name) is not None:
            continue
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        name = canonicalize_name(req.name)
        pins[name] = max(version, pins.get(name, version))
    return pins


def sure_wheels(request: Request, knowledge: Knowledge, client: Index) -> Iterator[FileLink]:
    """The wheels of :mod:`this module's <cudaenv.wheelhouse.sure>` guess, each as soon as it is
    known: the frameworks' own first, then their pins. Nothing on the CPU path (``--cpu``)."""
    if not request.gpu:
        return
    pins: dict[NormalizedName, Version] = {}
    for fw in request.frameworks:
        try:  # a page or METADATA the index cannot give: the solve will say so, not a guess
            release = framework_release(fw, request, knowledge, client)
            found = _pins_of(release, request, knowledge, client) if release else {}
        except IndexError_:
            continue
        if release is not None:
            yield release
        for name, version in found.items():
            pins[name] = max(version, pins.get(name, version))
    rank = _rank(request.target)
    for name, version in pins.items():
        try:
            wheel = best_wheel(client.usable(name), version, rank)
        except IndexError_:
            continue
        if wheel is not None:
            yield wheel
