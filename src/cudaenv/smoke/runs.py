"""What the frameworks did in the probe: TensorFlow's, PyTorch's and JAX's runs and logs, spaCy
on CPU and GPU.

Parsed from the probe's JSON (the edge) into frozen values; every log line is classified here
through ``recipes/log_lines.toml`` (:mod:`cudaenv.knowledge.loglines`), and thinc's misleading
GPU messages are translated, with the error CuPy really raised beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from cudaenv.knowledge.loglines import LogLine
from cudaenv.smoke.crash import Crash, crash_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from cudaenv.knowledge.loglines import LogRules, TfLines

__all__ = ["JaxRun", "SpacyRun", "TfRun", "TorchRun", "parse_version"]


def parse_version(text: object) -> Version | None:
    """A version from the probe, or None where it gave none or an unparsable one."""
    try:
        return Version(str(text)) if text else None
    except InvalidVersion:
        return None


def _log(
    rows: Iterable[Mapping[str, str]], rules: LogRules, tf_lines: TfLines | None
) -> tuple[LogLine, ...]:
    """Each line the framework printed, with its meaning (verdict "unknown" where none is known)."""
    out = []
    for row in rows:
        line, phase = row["line"], row.get("phase", "")
        known = rules.classify(line, tf_lines=tf_lines, phase=phase)
        out.append(known or LogLine.unknown(line, phase=phase))
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class TfRun:
    """TensorFlow in the environment: version, what it was built for, the GPUs it sees."""

    version: Version | None
    cuda: Version | None = None
    cudnn: Version | None = None
    gpus: tuple[str, ...] = ()
    log: tuple[LogLine, ...] = ()
    error: str | None = None
    matmul_seconds: Mapping[str, float] = field(default_factory=dict)
    crash: Crash | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], rules: LogRules, tf_lines: TfLines | None) -> TfRun:
        return cls(
            version=parse_version(data.get("version")),
            cuda=parse_version(data.get("cuda_version")),
            cudnn=parse_version(data.get("cudnn_version")),
            gpus=tuple(data.get("gpus") or ()),
            log=_log(data.get("log", ()), rules, tf_lines),
            error=data.get("error"),
            matmul_seconds={k: float(v) for k, v in (data.get("matmul_seconds") or {}).items()},
            crash=crash_of(data, data.get("log", ())),
        )

    def problems(self) -> tuple[LogLine, ...]:
        return tuple(x for x in self.log if x.verdict == "problem")

    def to_json(self) -> dict[str, Any]:
        return {
            "version": _text(self.version),
            "cuda": _text(self.cuda),
            "cudnn": _text(self.cudnn),
            "gpus": list(self.gpus),
            "error": self.error,
            "crash": _crash(self.crash),
            "matmul_seconds": dict(self.matmul_seconds),
            "log": [x.to_dict() for x in self.log],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SpacyRun:
    """spaCy on the CPU and (where a GPU exists) on the GPU, in words per second."""

    version: Version | None
    gpu: bool = False
    gpu_error: str | None = None
    error: str | None = None
    words_per_second: Mapping[str, float] = field(default_factory=dict)
    crash: Crash | None = None  # of the CPU run

    @classmethod
    def from_json(cls, data: Mapping[str, Any], rules: LogRules) -> SpacyRun:
        cpu, gpu = data.get("cpu") or {}, data.get("gpu") or {}
        wps = {
            k: float(v["words_per_second"])
            for k, v in (("cpu", cpu), ("gpu", gpu))
            if v.get("words_per_second") is not None
        }
        return cls(
            version=parse_version(cpu.get("version") or gpu.get("version")),
            gpu=bool(gpu) and not gpu.get("error"),
            gpu_error=_spacy_gpu_error(gpu, rules) if gpu.get("error") else None,
            error=cpu.get("error"),
            words_per_second=wps,
            crash=crash_of(cpu, cpu.get("log", ())),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": _text(self.version),
            "gpu": self.gpu,
            "gpu_error": self.gpu_error,
            "error": self.error,
            "crash": _crash(self.crash),
            "words_per_second": {k: self.words_per_second.get(k) for k in ("cpu", "gpu")},
        }


def _spacy_gpu_error(gpu: Mapping[str, Any], rules: LogRules) -> str:
    """thinc's message, translated (docs/facts.md, "CuPy"), with the real error CuPy gave
    underneath."""
    said = str(gpu["error"])
    known = rules.classify(said)
    text = f"{said} ({known.explanation})" if known else said
    return f"{text}; CuPy says: {gpu['cause']}" if gpu.get("cause") else text


@dataclass(frozen=True, slots=True, kw_only=True)
class TorchRun:
    """PyTorch in the environment: what it was built for, the GPUs it sees or why not, which
    CUDA libraries it loaded (by path), its matmul on each device."""

    version: Version | None
    cuda: Version | None = None  # torch.version.cuda; None for a CPU-only build
    cudnn: Version | None = None  # the cuDNN it loaded
    gpus: tuple[str, ...] = ()
    gpu_error: str | None = None
    loaded: Mapping[str, str] = field(default_factory=dict)  # soname -> path
    log: tuple[LogLine, ...] = ()
    error: str | None = None
    matmul_seconds: Mapping[str, float] = field(default_factory=dict)
    crash: Crash | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], rules: LogRules) -> TorchRun:
        return cls(
            version=parse_version(data.get("version")),
            cuda=parse_version(data.get("cuda_version")),
            cudnn=parse_version(data.get("cudnn_version")),
            gpus=tuple(data.get("gpus") or ()),
            gpu_error=data.get("gpu_error") or data.get("cudnn_error"),
            loaded={str(k): str(v) for k, v in (data.get("loaded") or {}).items()},
            log=_log(data.get("log", ()), rules, None),
            error=data.get("error"),
            matmul_seconds=_seconds(data),
            crash=crash_of(data, data.get("log", ())),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": _text(self.version),
            "cuda": _text(self.cuda),
            "cudnn": _text(self.cudnn),
            "gpus": list(self.gpus),
            "gpu_error": self.gpu_error,
            "loaded": dict(self.loaded),
            "error": self.error,
            "crash": _crash(self.crash),
            "matmul_seconds": dict(self.matmul_seconds),
            "log": [x.to_dict() for x in self.log],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class JaxRun:
    """JAX in the environment: its default backend, the GPUs its CUDA plugin sees or why not."""

    version: Version | None
    backend: str | None = None  # jax.default_backend(): "gpu", "cpu"
    gpus: tuple[str, ...] = ()
    gpu_error: str | None = None
    loaded: Mapping[str, str] = field(default_factory=dict)
    log: tuple[LogLine, ...] = ()
    error: str | None = None
    matmul_seconds: Mapping[str, float] = field(default_factory=dict)
    crash: Crash | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], rules: LogRules) -> JaxRun:
        return cls(
            version=parse_version(data.get("version")),
            backend=data.get("backend"),
            gpus=tuple(data.get("gpus") or ()),
            gpu_error=data.get("gpu_error"),
            loaded={str(k): str(v) for k, v in (data.get("loaded") or {}).items()},
            log=_log(data.get("log", ()), rules, None),
            error=data.get("error"),
            matmul_seconds=_seconds(data),
            crash=crash_of(data, data.get("log", ())),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": _text(self.version),
            "backend": self.backend,
            "gpus": list(self.gpus),
            "gpu_error": self.gpu_error,
            "loaded": dict(self.loaded),
            "error": self.error,
            "crash": _crash(self.crash),
            "matmul_seconds": dict(self.matmul_seconds),
            "log": [x.to_dict() for x in self.log],
        }


def _crash(crash: Crash | None) -> dict[str, Any] | None:
    return crash.to_json() if crash is not None else None


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)


def _seconds(data: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in (data.get("matmul_seconds") or {}).items()}
