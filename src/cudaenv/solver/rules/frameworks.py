"""TensorFlow's, PyTorch's and JAX's roots; PyTorch's and JAX's refused releases and floor.

All of them run on the environment's one CUDA major (:mod:`.majors`), chosen before the solve.

- TensorFlow: ``--tf 2.15`` roots ``tensorflow[and-cuda] ==2.15.*`` where the line has the
  extra, else plain ``tensorflow`` (2.12/2.13), and ``__cuda >=`` the lowest ``min_cuda`` of
  the lines it may pick (each release then adds its own: :mod:`.recipes`).

- PyTorch states its NVIDIA wheels in its own METADATA (exact pins; the factory relaxes them
  within a major where NVIDIA's rules allow, :mod:`.relax`), so ``--torch 2.7`` roots
  ``torch ==2.7.*`` and ``__cuda >=`` the lines' floor, and each release adds its own line's
  floor (:func:`release_requirements`), which is how the driver floor covers it.
- JAX reaches CUDA N through its ``cudaN`` extra (the plugin, the PJRT runtime, their NVIDIA
  ranges): ``--jax 0.7`` roots ``jax[cuda12] ==0.7.*`` for the stack's major and ``__cuda >=
  12.0``; releases older than the extra's first installable one (``since``) are refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from cudaenv.knowledge import JaxLine, TfLine, TorchLine
from cudaenv.solver.requirements import CUDA, SpecifierRequirement, VirtualRequirement
from cudaenv.solver.rules.majors import who

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from cudaenv.knowledge import Knowledge
    from cudaenv.request import FrameworkRequest, Request
    from cudaenv.solver.candidates import WheelCandidate
    from cudaenv.solver.requirements import Requirement
    from cudaenv.solver.rules.context import Context
    from cudaenv.solver.rules.majors import Line

__all__ = [
    "JAX",
    "TENSORFLOW",
    "TORCH",
    "jax_roots",
    "notes",
    "refused",
    "release_requirements",
    "roots",
    "tf_roots",
    "torch_roots",
]

TENSORFLOW = canonicalize_name("tensorflow")
TORCH = canonicalize_name("torch")
JAX = canonicalize_name("jax")


def roots(ctx: Context, fw: FrameworkRequest, lines: Sequence[Line]) -> list[Requirement]:
    """The roots of TensorFlow, PyTorch or JAX (spaCy's are :func:`.spacy.roots`)."""
    if fw.name == TORCH:
        return torch_roots(fw, [x for x in lines if isinstance(x, TorchLine)], ctx.request)
    if fw.name == JAX:
        return jax_roots(fw, [x for x in lines if isinstance(x, JaxLine)], ctx.cuda_major)
    return tf_roots(fw, [x for x in lines if isinstance(x, TfLine)], ctx.request.gpu)


def tf_roots(tf: FrameworkRequest, lines: Sequence[TfLine], gpu: bool) -> list[Requirement]:
    """``tensorflow[and-cuda] <spec>`` (plain ``tensorflow`` on the CPU or for a line without
    the extra) and, on the GPU, ``__cuda >=`` the lowest floor of its lines."""
    extra = next((line.extra for line in lines if line.extra), None) if gpu else None
    extras = frozenset({canonicalize_name(extra)}) if extra else frozenset()
    made: list[Requirement] = [
        SpecifierRequirement(
            name=TENSORFLOW, specifier=tf.specifier, extras=extras, origin=f"--tf {tf.text}"
        )
    ]
    if gpu:
        who = f"TensorFlow {lines[0].line}" if len(lines) == 1 else f"TensorFlow {tf.text}"
        floor = min(line.min_cuda for line in lines)
        made.insert(0, VirtualRequirement.at_least(CUDA, floor, who=who))
    return made


def torch_roots(
    fw: FrameworkRequest, lines: Sequence[TorchLine], request: Request
) -> list[Requirement]:
    """``torch <spec>`` and, on the GPU, ``__cuda >=`` the lowest floor of its lines whose
    wheels for the target's architecture carry CUDA (none: PyPI's aarch64 wheels before 2.11
    are CPU builds)."""
    roots: list[Requirement] = [
        SpecifierRequirement(name=TORCH, specifier=fw.specifier, origin=f"--torch {fw.text}")
    ]
    cuda = [line for line in lines if request.target.arch in line.gpu_machines]
    if request.gpu and cuda:
        floor = min(line.min_cuda for line in cuda)
        roots.insert(0, VirtualRequirement.at_least(CUDA, floor, who=who(TORCH, fw.text, cuda)))
    return roots


def jax_roots(
    fw: FrameworkRequest, lines: Sequence[JaxLine], major: int | None
) -> list[Requirement]:
    """``jax[cudaN] <spec>`` and ``__cuda >= N.0`` for the stack's major N; on the CPU ``jax``,
    with the extra that brings jaxlib where a line needs one (``jax[cpu]`` before 0.4.30)."""
    origin = f"--jax {fw.text}"
    extra = None
    if major is not None:
        extra = next((x.extras[major] for x in reversed(lines) if major in x.extras), None)
    if major is None or extra is None:
        cpu = {canonicalize_name(x.cpu_extra) for x in lines if x.cpu_extra}
        return [
            SpecifierRequirement(
                name=JAX, specifier=fw.specifier, extras=frozenset(cpu), origin=origin
            )
        ]
    name = who(JAX, fw.text, lines)
    return [
        VirtualRequirement.for_cuda_major(major, who=f"{name} (jax[{extra}])"),
        SpecifierRequirement(
            name=JAX,
            specifier=fw.specifier,
            extras=frozenset({canonicalize_name(extra)}),
            origin=origin,
        ),
    ]


def refused(
    knowledge: Knowledge,
    name: NormalizedName,
    version: Version,
    major: int | None,
    *,
    asked: bool = True,
) -> str | None:
    """Why a PyTorch or JAX release is never picked on the GPU (``major``: the stack's).

    ``asked``: the user named this framework. One that only comes in as another project's
    dependency (TensorFlow 2.12 needs ``jax``, the pure-Python part without jaxlib) is held
    to one rule only: a PyTorch line known to carry another CUDA major is still refused."""
    if name == TORCH:
        line = knowledge.torch_line(version)
        if line is None:
            return (
                "cudaenv's recipes do not know which CUDA this release was built for"
                if asked
                else None
            )
        if major is not None and line.cuda_major != major:
            return f"PyTorch {line.line} is built for CUDA {line.cuda_major}, {_one(major)}"
        return None
    if name == JAX and asked:
        jax = knowledge.jax_line(version)
        if jax is None:
            return "cudaenv's recipes do not know how this release reaches the GPU"
        if major is not None and jax.extra_for(major, version) is None:
            if major not in jax.extras:
                return f"JAX {jax.line} has no CUDA {major} plugin, {_one(major)}"
            first = jax.since[major]
            return f"JAX {version} has no CUDA {major} plugin on PyPI (the first is {first})"
    return None


def _one(major: int) -> str:
    return f"and this environment's CUDA stack is CUDA {major} (one CUDA major per environment)"


def release_requirements(
    knowledge: Knowledge, request: Request, cand: WheelCandidate
) -> list[Requirement]:
    """A PyTorch release's own ``__cuda`` floor, where its wheels for the target carry CUDA."""
    if cand.name != TORCH or not request.gpu:
        return []
    line = knowledge.torch_line(cand.version)
    if line is None or request.target.arch not in line.gpu_machines:
        return []
    return [VirtualRequirement.at_least(CUDA, line.min_cuda, who=f"PyTorch {line.line}")]


def notes(
    knowledge: Knowledge, request: Request, pinned: Mapping[NormalizedName, Version]
) -> tuple[str, ...]:
    """What a user should know about the PyTorch pinned: CPU-only wheels on this
    architecture, or CUDA wheels that ``--cpu`` cannot drop."""
    version = pinned.get(TORCH)
    line = knowledge.torch_line(version) if version is not None else None
    if line is None:
        return ()
    gpu_wheels = request.target.arch in line.gpu_machines
    if request.gpu and not gpu_wheels:
        return (
            f"torch {version} for {request.target.arch}: PyPI's wheels for this architecture "
            f"are CPU-only (its NVIDIA requirements apply to {', '.join(line.gpu_machines)})",
        )
    if not request.gpu and gpu_wheels:
        return (
            f"torch {version}: PyPI has only CUDA builds for {request.target.arch}, so its "
            "NVIDIA wheels stay in a CPU-only stack (torch runs on the CPU without a driver)",
        )
    return ()
