"""Machine detection: which NVIDIA driver this machine has, the newest CUDA it runs, its GPUs.

The answer enters the solve as the virtual package ``__cuda`` (docs/architecture.md), so it must
be right or plainly say why not. Detection is an override, then an ordered chain of probes
(:mod:`cudaenv.machine.probes`: NVML, libcuda in a child process, ``nvidia-smi``, ``/proc``),
each naming itself as the source; parsers are pure (:mod:`cudaenv.machine.parse`).

    >>> m = detect(Overrides.from_env_and_args(driver="535.104.05"))
    >>> str(m.driver_version), str(m.max_cuda), m.source
    ('535.104.05', '12.2', 'override')

Overrides: ``--driver X`` (max CUDA from the knowledge base's driver table), ``--cuda X``, and
``CONDA_OVERRIDE_CUDA`` read exactly as conda reads it (set but empty means "no CUDA").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cudaenv.errors import Remedy, UsageError
from cudaenv.machine.container import NO_GPU_IN_CONTAINER, container_hints
from cudaenv.machine.parse import parse_cuda_version, parse_driver_version
from cudaenv.machine.probes import HOST_ROOT, PROBES, Host, absent_reasons
from cudaenv.machine.values import SOURCES, DriverInfo, Gpu, Machine, ProbeError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from packaging.version import Version

    from cudaenv.driver import DriverVersion

    DriverToCuda = Callable[[DriverVersion], Version | None]
    Probe = tuple[str, Callable[[Host], DriverInfo | None]]

__all__ = [
    "HOST_ROOT",
    "PROBE_NAMES",
    "SOURCES",
    "DriverInfo",
    "Gpu",
    "Host",
    "Machine",
    "Overrides",
    "ProbeError",
    "detect",
    "run_probes",
]

CONDA_OVERRIDE_CUDA = "CONDA_OVERRIDE_CUDA"
PROBE_NAMES = tuple(name for name, _ in PROBES)  # what ``detect --source`` may name


@dataclass(frozen=True, slots=True, kw_only=True)
class Overrides:
    """What the user says instead of detection; checked when made (UsageError), so a value
    that exists is valid."""

    driver: str | None = None  # "535.104.05"
    cuda: str | None = None  # "12.4"
    conda_override_cuda: str | None = None  # None: unset; "": set but empty (conda: no CUDA)

    def __post_init__(self) -> None:
        cuda_like = "a CUDA version: 12.4"
        _check(
            self.driver, parse_driver_version, "--driver", "an NVIDIA driver version: 535.104.05"
        )
        _check(self.cuda, parse_cuda_version, "--cuda", cuda_like)
        _check(self.conda_override_cuda or None, parse_cuda_version, CONDA_OVERRIDE_CUDA, cuda_like)

    @classmethod
    def from_env_and_args(
        cls,
        *,
        driver: str | None = None,
        cuda: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Overrides:
        """From ``--driver``/``--cuda`` and ``CONDA_OVERRIDE_CUDA``; bad input is a UsageError."""
        env = os.environ if environ is None else environ
        conda = env.get(CONDA_OVERRIDE_CUDA)
        conda = None if conda is None else conda.strip()  # conda strips it too
        return cls(
            driver=None if driver is None else driver.strip(),
            cuda=None if cuda is None else cuda.strip(),
            conda_override_cuda=conda,
        )


def _check(value: str | None, parse: Callable[[str], object], what: str, like: str) -> None:
    if value is None:
        return
    try:
        parse(value)
    except ProbeError:
        if not what.startswith("--"):
            raise UsageError(f"{what} {value!r} is not valid", hint=f"give {like}") from None
        kind, _, example = like.rpartition(": ")  # "an NVIDIA driver version: 535.104.05"
        remedy = Remedy(text=f"give {kind}, such as {what} {example}", options=((what, example),))
        raise UsageError(f"{what} {value!r} is not valid", remedies=(remedy,)) from None


def detect(
    overrides: Overrides | None = None,
    *,
    driver_to_cuda: DriverToCuda | None = None,
    host: Host | None = None,
    sources: Sequence[str] | None = None,
) -> Machine:
    """Detect this machine (or take the overrides). Never raises for a missing or broken driver:
    that is an answer, with the reasons in ``problems``.

    ``driver_to_cuda`` maps a driver version to its max CUDA (``knowledge.load()
    .max_cuda_for_driver``; loaded here if not given). ``sources``: ask only these probes (by
    name, in :data:`PROBES` order), as ``cudaenv detect --source`` does. Cost: at most one child
    Python process (libcuda) and three ``nvidia-smi`` runs, each bounded by ``host.timeout``.
    """
    host = host or Host()
    to_cuda = driver_to_cuda or _knowledge_driver_to_cuda()
    hints = container_hints(host)
    found = _from_override(overrides or Overrides(), to_cuda)
    if found is not None:
        return _machine(found, "override", hints, to_cuda)
    probes = PROBES if sources is None else tuple(p for p in PROBES if p[0] in sources)
    info, source, failures = run_probes(host, probes)
    if info is None:
        return _no_driver(host, failures, hints, probes)
    return _machine(info.merged(DriverInfo(problems=_said(failures))), source, hints, to_cuda)


def _said(failures: dict[str, str]) -> tuple[str, ...]:
    return tuple(f"{name} probe: {message}" for name, message in failures.items())


def _knowledge_driver_to_cuda() -> DriverToCuda:
    from cudaenv.knowledge import load

    return load().max_cuda_for_driver


def _from_override(overrides: Overrides, driver_to_cuda: DriverToCuda) -> DriverInfo | None:
    """``--driver``/``--cuda`` first; else ``CONDA_OVERRIDE_CUDA``; None if neither is given."""
    conda = overrides.conda_override_cuda
    if overrides.driver is None and overrides.cuda is None:
        if conda is None:
            return None
        if conda == "":
            return DriverInfo(
                problems=(
                    f"{CONDA_OVERRIDE_CUDA} is set but empty: resolving as if there were no NVIDIA "
                    "driver (as conda does)",
                )
            )
        return DriverInfo(max_cuda=parse_cuda_version(conda))
    problems: tuple[str, ...] = ()
    if conda is not None:
        problems = (f"{CONDA_OVERRIDE_CUDA}={conda!r} ignored: --driver/--cuda given",)
    cuda = None if overrides.cuda is None else parse_cuda_version(overrides.cuda)
    driver = None if overrides.driver is None else parse_driver_version(overrides.driver)
    info = DriverInfo(driver_version=driver, max_cuda=cuda, problems=problems)
    return info.merged(_consistency(info, driver_to_cuda))


def _consistency(info: DriverInfo, driver_to_cuda: DriverToCuda) -> DriverInfo:
    if info.driver_version is None or info.max_cuda is None:
        return DriverInfo()
    supported = driver_to_cuda(info.driver_version)
    if supported is None or info.max_cuda <= supported:
        return DriverInfo()
    return DriverInfo(
        problems=(
            f"--cuda {info.max_cuda} is newer than driver {info.driver_version} supports "
            f"(CUDA {supported}); using --cuda as given",
        )
    )


def run_probes(
    host: Host, probes: Sequence[Probe]
) -> tuple[DriverInfo | None, str, dict[str, str]]:
    """Try ``probes`` in order until the driver version and max CUDA are both known.

    Returns what was found (None if no probe answered), the first probe that answered ("none"
    if none did), and each failed probe's name with its message. Later probes only fill in
    what earlier ones left unknown.
    """
    info: DriverInfo | None = None
    source, failures = "none", {}
    for name, probe in probes:
        try:
            found = probe(host)
        except ProbeError as err:
            failures[name] = err.message
            continue
        if found is None:
            continue
        info, source = (found, name) if info is None else (info.merged(found), source)
        if info.complete:
            break
    return info, source, failures


def _machine(
    info: DriverInfo, source: str, hints: tuple[str, ...], driver_to_cuda: DriverToCuda
) -> Machine:
    problems = list(info.problems)
    max_cuda = info.max_cuda
    if max_cuda is None and info.driver_version is not None:
        max_cuda = driver_to_cuda(info.driver_version)
        if max_cuda is None:
            problems.append(
                f"driver {info.driver_version} is older than every driver in cudaenv's table "
                "(or not a desktop/server driver): it runs none of the CUDA releases cudaenv knows"
            )
    if source in ("nvml", "nvidia-smi") and not info.gpus:
        problems.append(f"the driver answered but lists no GPU ({source})")
    return Machine(
        driver_version=info.driver_version,
        max_cuda=max_cuda,
        source=source,
        gpus=info.gpus,
        problems=tuple(problems),
        container=hints,
    )


def _no_driver(
    host: Host, failures: dict[str, str], hints: tuple[str, ...], probes: Sequence[Probe]
) -> Machine:
    reasons = absent_reasons(host)
    missing = [reasons[name] for name, _ in probes if name not in failures]
    why = "; ".join(missing) if missing else "every probe failed"
    problems = [f"no NVIDIA driver found: {why}", *_said(failures)]
    if NO_GPU_IN_CONTAINER in hints:
        problems.append(NO_GPU_IN_CONTAINER)
    return Machine(
        driver_version=None,
        max_cuda=None,
        source="none",
        problems=tuple(problems),
        container=hints,
    )
