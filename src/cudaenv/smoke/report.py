"""SmokeReport: the probe's JSON, parsed once at the edge into frozen values, with a verdict.

The probe (``probe.py``) only observes: which libraries load and from where, what the driver
says, what TensorFlow, PyTorch, JAX and spaCy do and print, and which CUDA libraries each of them
loads when all run in one process. Everything that *judges* lives here: each log line
is classified through ``recipes/log_lines.toml`` (:mod:`cudaenv.knowledge.loglines`), the GPU
gets an ``available`` flag with the reason when it is not used, and the whole run a verdict:
``gpu`` (a GPU is used), ``cpu-only`` (everything a CPU can check works; the reason says why
there is no GPU) or ``broken`` (a library does not load or a framework fails).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cudaenv.errors import FAILURE, OK
from cudaenv.smoke.crash import crash_of
from cudaenv.smoke.runs import JaxRun, SpacyRun, TfRun, TorchRun, parse_version

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from packaging.version import Version

    from cudaenv.knowledge.loglines import LogRules, TfLines

__all__ = ["Driver", "Gpu", "LibraryCheck", "SmokeReport"]

Verdict = Literal["gpu", "cpu-only", "broken"]


def _path(text: object) -> Path | None:
    return Path(str(text)) if text else None


@dataclass(frozen=True, slots=True, kw_only=True)
class LibraryCheck:
    """One CUDA library dlopened by soname under the environment's activation."""

    soname: str
    loaded: bool
    path: Path | None
    error: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LibraryCheck:
        return cls(
            soname=str(data["soname"]),
            loaded=bool(data.get("loaded")),
            path=_path(data.get("path")),
            error=data.get("error"),
        )

    def to_json(self) -> dict[str, Any]:
        path = str(self.path) if self.path else None
        return {"soname": self.soname, "loaded": self.loaded, "path": path, "error": self.error}


@dataclass(frozen=True, slots=True, kw_only=True)
class Driver:
    """What libcuda.so.1 says from inside the environment: max CUDA, cuInit, the GPUs."""

    loaded: bool
    path: Path | None = None
    error: str | None = None
    init: int | None = None
    max_cuda: Version | None = None
    devices: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Driver:
        return cls(
            loaded=bool(data.get("loaded")),
            path=_path(data.get("path")),
            error=data.get("error"),
            init=data.get("init"),
            max_cuda=parse_version(data.get("cuda_version")),
            devices=tuple(data.get("devices") or ()),
        )

    def reason(self) -> str | None:
        """Why no GPU can be used at the driver level, or None when the driver sees one."""
        if not self.loaded:
            return (
                "no NVIDIA driver on this machine: libcuda.so.1 cannot be loaded "
                f"({self.error or 'not found'})"
            )
        if self.init:
            return f"the NVIDIA driver did not initialise (cuInit returned {self.init})"
        if not self.devices:
            return "the NVIDIA driver sees no GPU (check CUDA_VISIBLE_DEVICES and nvidia-smi)"
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Gpu:
    available: bool
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SmokeReport:
    """Everything the probe found in one environment, judged."""

    gpu: Gpu
    driver: Driver
    libraries: tuple[LibraryCheck, ...]
    tensorflow: TfRun | None
    spacy: SpacyRun | None
    together: Mapping[str, Any] | None
    distributions: Mapping[str, str]
    python: Version | None
    verdict: Verdict
    problems: tuple[str, ...]
    torch: TorchRun | None = None
    jax: JaxRun | None = None

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], *, rules: LogRules, tf_lines: TfLines | None = None
    ) -> SmokeReport:
        """Parse the probe's JSON document; ``tf_lines`` maps soname -> TF release lines."""
        driver = Driver.from_json(data.get("driver") or {})
        libraries = tuple(LibraryCheck.from_json(x) for x in data.get("libraries", ()))
        tf_data, spacy_data = data.get("tensorflow"), data.get("spacy")
        tf = TfRun.from_json(tf_data, rules, tf_lines) if tf_data else None
        spacy = SpacyRun.from_json(spacy_data, rules) if spacy_data else None
        torch = TorchRun.from_json(data["torch"], rules) if data.get("torch") else None
        jax = JaxRun.from_json(data["jax"], rules) if data.get("jax") else None
        problems = _problems(libraries, tf, spacy, data.get("together"))
        problems += _more_problems(torch, jax, data.get("together"))
        dists = dict(data.get("distributions") or {})
        cupy = any(name.startswith("cupy") for name in dists)
        plugin = any(name.startswith("jax-cuda") for name in dists)
        gpu = _gpu(driver, tf, spacy if cupy else None)
        if gpu.available:
            gpu = _gpu_more(gpu, torch, jax if plugin else None)
        verdict: Verdict = "broken" if problems else "gpu" if gpu.available else "cpu-only"
        return cls(
            gpu=gpu,
            driver=driver,
            libraries=libraries,
            tensorflow=tf,
            spacy=spacy,
            together=data.get("together"),
            distributions=dists,
            python=parse_version((data.get("environment") or {}).get("python")),
            verdict=verdict,
            problems=problems,
            torch=torch,
            jax=jax,
        )

    def exit_code(self, *, require_gpu: bool = False) -> int:
        if self.verdict == "broken" or (require_gpu and not self.gpu.available):
            return FAILURE
        return OK

    def to_json(self) -> dict[str, Any]:
        return {
            "gpu": {"available": self.gpu.available, "reason": self.gpu.reason},
            "driver": {
                "loaded": self.driver.loaded,
                "max_cuda": str(self.driver.max_cuda) if self.driver.max_cuda else None,
                "devices": list(self.driver.devices),
                "error": self.driver.error,
            },
            "libraries": [x.to_json() for x in self.libraries],
            "tensorflow": self.tensorflow.to_json() if self.tensorflow else None,
            "spacy": self.spacy.to_json() if self.spacy else None,
            "torch": self.torch.to_json() if self.torch else None,
            "jax": self.jax.to_json() if self.jax else None,
            "together": dict(self.together) if self.together else None,
            "distributions": dict(self.distributions),
            "verdict": self.verdict,
            "problems": list(self.problems),
        }


def _problems(
    libraries: Iterable[LibraryCheck],
    tf: TfRun | None,
    spacy: SpacyRun | None,
    together: Mapping[str, Any] | None,
) -> tuple[str, ...]:
    out = [f"{x.soname} does not load: {x.error}" for x in libraries if not x.loaded]
    if tf and tf.crash:
        out.append(f"TensorFlow crashed: {tf.crash.text()}")
    elif tf and tf.error:
        out.append(f"TensorFlow fails: {tf.error}")
    if spacy and spacy.crash:
        out.append(f"spaCy crashed on the CPU: {spacy.crash.text()}")
    elif spacy and spacy.error:
        out.append(f"spaCy fails on the CPU: {spacy.error}")
    if together and (crash := crash_of(together, together.get("log", ()))):
        out.append(f"the frameworks together in one process crashed: {crash.text()}")
    elif together and together.get("error"):
        where = "on the GPU" if together.get("device", "gpu") == "gpu" else "on the CPU"
        out.append(f"the frameworks together in one process fail {where}: {together['error']}")
    return tuple(out)


def _more_problems(
    torch: TorchRun | None, jax: JaxRun | None, together: Mapping[str, Any] | None
) -> tuple[str, ...]:
    """PyTorch or JAX failing, and two cuDNN libraries in one process (which framework loaded
    each, by path): the classic failure of two frameworks in one environment."""
    out = []
    for name, run in (("PyTorch", torch), ("JAX", jax)):
        if run and run.crash:
            out.append(f"{name} crashed: {run.crash.text()}")
        elif run and run.error:
            out.append(f"{name} fails: {run.error}")
    cudnn = list((together or {}).get("cudnn") or ())
    if len(cudnn) > 1:
        loaded_by = {
            path: name
            for name, run in ((together or {}).get("frameworks") or {}).items()
            for path in (run.get("loaded") or {}).values()
        }
        listed = ", ".join(f"{p} (by {loaded_by.get(p, 'an earlier import')})" for p in cudnn)
        out.append(
            f"two cuDNN libraries are loaded in one process: {listed}; one environment must "
            "hold one cuDNN (`cudaenv doctor` shows where each comes from)"
        )
    return tuple(out)


def _gpu(driver: Driver, tf: TfRun | None, spacy: SpacyRun | None) -> Gpu:
    """Is the GPU used by every framework meant to use it? The first reason that holds:
    driver, then TensorFlow, then spaCy (``None`` when no CuPy is installed: CPU spaCy)."""
    reason = driver.reason()
    if reason:
        return Gpu(available=False, reason=reason)
    if tf is not None and not tf.gpus:
        first = next(iter(tf.problems()), None)
        why = first.explanation if first else tf.error or "no problem line in its log"
        return Gpu(available=False, reason=f"TensorFlow sees no GPU: {why}")
    if spacy is not None and not spacy.gpu:
        return Gpu(available=False, reason=f"spaCy cannot use the GPU: {spacy.gpu_error}")
    devices = ", ".join(driver.devices)
    return Gpu(available=True, reason=f"GPU in use: {devices}")


def _gpu_more(gpu: Gpu, torch: TorchRun | None, jax: JaxRun | None) -> Gpu:
    """The GPU as :func:`_gpu` found it, unless PyTorch (a CUDA build) or JAX (with its CUDA
    plugin installed) sees none: then why."""
    if torch is not None and torch.cuda is not None and not torch.gpus:
        return Gpu(available=False, reason=f"PyTorch sees no GPU: {torch.gpu_error}")
    if jax is not None and not jax.gpus:
        first = next((x for x in jax.log if x.verdict == "problem"), None)
        why = first.explanation if first else jax.gpu_error
        return Gpu(available=False, reason=f"JAX sees no GPU: {why}")
    return gpu
