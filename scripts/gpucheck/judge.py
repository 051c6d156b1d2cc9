"""What passed: pure functions over the JSON that cudaenv's commands and ``libcheck.py`` print.

Each returns ``(ok, summary, figures)``: ``ok`` True/False (None where nothing applies), one
line saying why, and the figures for the report. ``gpu`` says whether a GPU is expected: on a
lent GPU machine every framework must use it; in a dry run on a machine without one (the suite,
with its fake driver) the same checks run and a CPU verdict with its reason is the answer.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["SOURCES", "activation", "detect", "doctor", "frameworks", "restored", "spacy"]

Judged = tuple[bool | None, str, dict[str, Any]]
SOURCES = ("nvml", "libcuda", "nvidia-smi", "proc")
_DRIVER_FROM = ("nvml", "nvidia-smi", "proc")  # libcuda tells no driver version
_NAMES = {"torch": "PyTorch", "jax": "JAX", "tensorflow": "TensorFlow"}


def _gpus(answer: Mapping[str, Any]) -> list[str]:
    return [f"{g['name']} (compute {g.get('compute_capability')})" for g in answer.get("gpus", [])]


def _agree(values: Mapping[str, Any], what: str) -> list[str]:
    if len(set(values.values())) <= 1:
        return []
    listed = ", ".join(f"{source} {value}" for source, value in values.items())
    return [f"{what} differ: {listed}"]


def detect(answers: Mapping[str, Mapping[str, Any] | None]) -> Judged:
    """``detect --json`` without a source and with each source forced: every probe answers,
    driver versions and max CUDA agree, the GPUs are listed with a compute capability."""
    problems = [f"detect --source {s} gave no JSON" for s in SOURCES if answers.get(s) is None]
    ok = {s: a for s, a in answers.items() if a is not None and s in SOURCES}
    for source, answer in ok.items():
        if answer["source"] != source:
            said = (answer.get("problems") or ["no reason given"])[0]
            problems.append(f"the {source} probe did not answer: {said}")
    answered = {s: a for s, a in ok.items() if a["source"] == s}
    drivers = {s: answered[s]["driver_version"] for s in _DRIVER_FROM if s in answered}
    cudas = {s: a["cuda_driver_version"] for s, a in answered.items()}
    problems += _agree(drivers, "driver versions") + _agree(cudas, "max CUDA versions")
    listing = {s: _gpus(answered[s]) for s in ("nvml", "nvidia-smi") if s in answered}
    problems += _agree({s: tuple(g) for s, g in listing.items()}, "GPU lists")
    if not any(listing.values()):
        problems.append("no probe listed a GPU")
    if any("compute None" in g for gpus in listing.values() for g in gpus):
        problems.append("a GPU is listed without its compute capability")
    first = answers.get("default") or {}
    figures = {
        "driver": next(iter(drivers.values()), None),
        "max_cuda": next(iter(cudas.values()), None),
        "gpus": next((g for g in listing.values() if g), []),
        "answered_by": sorted(answered),
        "default_source": first.get("source"),
    }
    if problems:
        return False, "; ".join(problems), figures
    return (
        True,
        f"driver {figures['driver']}, CUDA {figures['max_cuda']}, all 4 probes agree",
        figures,
    )


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return top / bottom if top is not None and bottom else None


def _framework(name: str, run: Mapping[str, Any], gpu: bool) -> tuple[str, dict[str, Any], str]:
    """(verdict, figures, problem or "") for PyTorch, JAX or TensorFlow in a smoke report."""
    seconds = run.get("matmul_seconds") or {}
    used = bool(run.get("gpus")) and "gpu" in seconds and not run.get("error")
    if run.get("error"):
        verdict = f"fails: {run['error']}"
    elif used:
        verdict = "GPU used"
    else:
        verdict = f"CPU only: {run.get('gpu_error') or 'sees no GPU'}"
    figures = {
        f"{name}_version": run.get("version"),
        f"{name}_verdict": verdict,
        f"{name}_gpus": run.get("gpus"),
        f"{name}_matmul_size": seconds.get("size"),
        f"{name}_matmul_gpu_s": seconds.get("gpu"),
        f"{name}_matmul_cpu_s": seconds.get("cpu"),
        f"{name}_matmul_gpu_over_cpu": _ratio(seconds.get("gpu"), seconds.get("cpu")),
        f"{name}_libraries": run.get("loaded"),
    }
    wrong = run.get("error") or (gpu and not used) or (gpu and not run.get("loaded"))
    return verdict, figures, f"{_NAMES[name]}: {verdict}" if wrong else ""


def frameworks(report: Mapping[str, Any] | None, expect: Sequence[str], gpu: bool) -> Judged:
    """``smoke --json`` of an environment with PyTorch/JAX/TensorFlow: each one ``expect``
    names is there, and (``gpu``) each installed uses the GPU, with the CUDA libraries it
    loaded by path; the smoke verdict is ``gpu`` (else not ``broken``)."""
    if report is None:
        return False, "smoke gave no JSON", {}
    problems, figures, verdicts = [], {"verdict": report.get("verdict")}, []
    for name in _NAMES:
        run = report.get(name)
        if run is None:
            if name in expect:
                problems.append(f"{_NAMES[name]} is not installed there")
            continue
        verdict, found, problem = _framework(name, run, gpu)
        figures.update(found)
        verdicts.append(f"{_NAMES[name]} {verdict}")
        problems += [problem] if problem else []
    want = "gpu" if gpu else "cpu-only"
    if report.get("verdict") not in (want, "gpu"):
        problems.append(f"smoke's verdict is {report.get('verdict')}: {report.get('problems')}")
    said = "; ".join(verdicts) or "no framework"
    return (False, "; ".join(problems), figures) if problems else (True, said, figures)


def spacy(report: Mapping[str, Any] | None, gpu: bool, carried: bool) -> Judged:
    """spaCy in the environment cudaenv made: words/s on the CPU and (``gpu``) the GPU."""
    if report is None:
        return False, "smoke gave no JSON", {}
    run = report.get("spacy")
    if run is None:
        if carried:
            return False, "spaCy was carried but is not in the environment", {}
        return None, "no spaCy wheels were carried (scripts/gpu-check --prepare DIR)", {}
    wps = run.get("words_per_second") or {}
    figures = {
        "spacy_version": run.get("version"),
        "spacy_words_per_s_gpu": wps.get("gpu"),
        "spacy_words_per_s_cpu": wps.get("cpu"),
        "spacy_gpu_over_cpu": _ratio(wps.get("gpu"), wps.get("cpu")),
        "verdict": report.get("verdict"),
    }
    if run.get("error"):
        return False, f"spaCy fails: {run['error']}", figures
    if gpu and (not run.get("gpu") or wps.get("gpu") is None):
        return False, f"spaCy does not use the GPU: {run.get('gpu_error')}", figures
    if wps.get("cpu") is None:
        return False, "spaCy's CPU run gave no words/s", figures
    shown = f"{wps['cpu']:,.0f} words/s on the CPU"
    if wps.get("gpu") is not None:
        shown += f", {wps['gpu']:,.0f} on the GPU"
    return True, f"spaCy {run.get('version')}: {shown}", figures


def doctor(found: Mapping[str, Any] | None, gpu: bool) -> Judged:
    """``doctor --json`` of the image's environment: it ran, no finding is an error, and
    (``gpu``) libcuda loads and sees the GPU."""
    if found is None:
        return False, "doctor gave no JSON", {}
    driver = found.get("driver") or {}
    findings = [f"{f['severity']} [{f['cause']}]: {f['message']}" for f in found["findings"]]
    figures = {"worst": found.get("worst"), "findings": findings, "driver": driver}
    problems = [f for f in findings if f.startswith("error")]
    if gpu and not driver.get("devices"):
        problems.append(f"libcuda sees no GPU there: {driver.get('error')}")
    if problems:
        return False, "; ".join(problems), figures
    return True, f"worst finding: {found.get('worst')} ({len(findings)} findings)", figures


def _inside(path: str | None, folder: str) -> bool:
    return path is not None and PurePath(path).is_relative_to(folder)


def activation(result: Mapping[str, Any] | None, *, prefix: str, site: str) -> Judged:
    """``libcheck.py`` under an activation: it ran in the environment's Python, every library
    asked for loaded from the environment's ``nvidia/*/lib``, and ``cuInit`` succeeded through
    a ``libcuda.so.1`` that is not the environment's."""
    if result is None:
        return False, "libcheck gave no JSON", {}
    problems = []
    if result.get("prefix") != prefix:
        problems.append(f"python ran from {result.get('prefix')}, not {prefix}")
    nvidia = str(PurePath(site, "nvidia"))
    paths = {x["soname"]: x["path"] for x in result["libraries"]}
    for x in result["libraries"]:
        if not x["loaded"]:
            problems.append(f"{x['soname']} does not load: {x['error']}")
        elif not _inside(x["path"], nvidia):
            problems.append(f"{x['soname']} loads from {x['path']}, not from {nvidia}")
    driver = result.get("driver") or {}
    if not driver.get("loaded"):
        problems.append(f"libcuda.so.1 does not load: {driver.get('error')}")
    elif driver.get("init") != 0 or _inside(driver.get("path"), prefix):
        problems.append(f"cuInit returned {driver.get('init')} ({driver.get('path')})")
    figures = {"libraries": paths, "libcuda": driver.get("path"), "cuInit": driver.get("init")}
    if problems:
        return False, "; ".join(problems), figures
    return True, f"{len(paths)} libraries from {nvidia}, cuInit 0", figures


def cupy(result: Mapping[str, Any] | None, gpu: bool) -> Judged:
    """CuPy's matmul on the GPU in the environment (``libcheck.py --cupy``)."""
    found = (result or {}).get("cupy") or {}
    if not found.get("installed"):
        if gpu:
            return False, f"CuPy is not installed there: {found.get('error')}", {}
        return None, "no CuPy there (a dry run)", {}
    figures = {
        "cupy_version": found.get("version"),
        "cupy_device": found.get("device"),
        "cupy_matmul_s": found.get("seconds"),
        "cupy_libraries": (result or {}).get("cupy_loaded"),
    }
    if found.get("error") or not found.get("correct"):
        return (False if gpu else None), f"CuPy: {found.get('error') or 'wrong result'}", figures
    return True, f"CuPy {found['version']} on {found['device']}", figures


def restored(
    before: Mapping[str, str], after: Mapping[str, str], names: Sequence[str]
) -> list[str]:
    """The variables ``deactivate`` must give back exactly (unset stays unset)."""
    return [
        f"{n} was {before.get(n)!r} before activating and {after.get(n)!r} after deactivate"
        for n in names
        if before.get(n) != after.get(n)
    ]
