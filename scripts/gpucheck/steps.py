"""The checks, in the order :mod:`.main` runs them; each returns a :class:`Check`.

Every cudaenv step runs the command a user would (``cudaenv detect --json``, ``smoke --python``,
``create --from ... --find-links ... --offline``, ``run``), in a child process, and the verdicts
come from :mod:`.judge`. Checks that build on an earlier one (the environment) find what it made
in ``ctx.state`` and say so when it is missing.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpucheck import judge
from gpucheck.context import json_of, tail
from gpucheck.report import Check

if TYPE_CHECKING:
    from gpucheck.context import Context

__all__ = ["activation", "cupy_image", "detect", "doctor_image", "machine", "run_command",
           "smoke_env", "smoke_image"]  # fmt: skip

LIBCHECK = Path(__file__).with_name("libcheck.py")
SMI_QUERY = "--query-gpu=driver_version,name,compute_cap,memory.total"
_FAMILY = re.compile(r"^lib(cudart|cublas|cudnn)\.so\.\d+$")


def machine(ctx: Context) -> Check:
    """The machine as its own tools see it; nvidia-smi's outputs kept verbatim (their headers
    are the captures tests/data/nvidia-smi wants)."""
    smi = shutil.which("nvidia-smi")
    figures: dict[str, Any] = {"kernel": platform.release(), "nvidia_smi": smi}
    if smi is None:
        return Check("machine", not ctx.gpu, "no nvidia-smi on PATH", figures=figures)
    captures = {}
    for key, args, lines in (("table", [], 40), ("report", ["-q"], 30),
                             ("query", [SMI_QUERY, "--format=csv"], 20)):  # fmt: skip
        ran = ctx.run(f"nvidia-smi {' '.join(args)}", [smi, *args], most=30)
        captures[key] = {"rc": ran.rc, "text": "\n".join(ran.out.splitlines()[:lines])}
    header = next((x for x in captures["table"]["text"].splitlines() if "NVIDIA-SMI" in x), None)
    figures["header"] = header.strip(" |") if header else None
    ok = captures["table"]["rc"] == 0
    return Check("machine", ok, figures["header"] or "nvidia-smi printed no header",
                 figures=figures, details={"nvidia-smi": captures})  # fmt: skip


def detect(ctx: Context) -> Check:
    answers: dict[str, Any] = {}
    runs = []
    for source in ("default", *judge.SOURCES):
        args = ("detect", "--json") + (() if source == "default" else ("--source", source))
        ran = ctx.cli(f"detect {source}", *args, most=60)
        answers[source] = json_of(ran) if ran.rc == 0 else None
        runs.append(ran.brief())
    ok, said, figures = judge.detect(answers)
    return Check("detect", ok, said, figures=figures, details={"answers": answers, "runs": runs})


def smoke_image(ctx: Context) -> Check:
    ran = ctx.cli("smoke --python", "smoke", "--python", str(ctx.python), "--json", most=240)
    report = json_of(ran)
    ok, said, figures = judge.frameworks(report, ctx.expect, ctx.gpu)
    return Check("smoke-image", ok, said, figures=figures,
                 details={"run": ran.brief(), "report": report})  # fmt: skip


def doctor_image(ctx: Context) -> Check:
    ran = ctx.cli("doctor --python", "doctor", "--python", str(ctx.python), "--json", most=180)
    found = json_of(ran)
    ok, said, figures = judge.doctor(found, ctx.gpu)
    return Check("doctor-image", ok, said, figures=figures,
                 details={"run": ran.brief(), "report": found})  # fmt: skip


def _libcheck(ctx: Context, title: str, argv: list[str], env: dict[str, str] | None = None) -> Any:
    ran = ctx.run(title, argv, most=120, env=env)
    return json_of(ran), ran


def cupy_image(ctx: Context) -> Check:
    """CuPy of the machine's own Python, on the GPU (no cudaenv activation: as the image is)."""
    result, ran = _libcheck(ctx, "cupy (image)", [str(ctx.python), str(LIBCHECK), "--cupy"])
    ok, said, figures = judge.cupy(result, ctx.gpu)
    return Check("cupy-image", ok, said, figures=figures, details={"run": ran.brief()})


def _sonames(site: Path) -> list[str]:
    """libcudart, libcublas and libcudnn as the environment's NVIDIA wheels ship them."""
    found = {p.name for p in site.glob("nvidia/*/lib/*") if _FAMILY.match(p.name)}
    return sorted(found)


_BASH = r"""set -u
env_dir=$1 libcheck=$2 out=$3; shift 3
show() { printf '%s\n%s\n' "${LD_LIBRARY_PATH-<unset>}" "$PATH"; }
show > "$out/before.txt"
. "$env_dir/bin/activate" || exit 11
python "$libcheck" "$@" > "$out/activated.json" || exit 12
deactivate || exit 13
show > "$out/after.txt"
"""


def _built(ctx: Context, name: str) -> Check | None:
    if "env" not in ctx.state:
        return Check(name, False, "not run: the environment was not made (see create)")
    return None


def activation(ctx: Context) -> list[Check]:
    """``. ENV/bin/activate`` in bash: the libraries load from the environment's wheels,
    cuInit succeeds through the driver's libcuda, CuPy multiplies on the GPU, and deactivate
    gives every variable back."""
    missing = _built(ctx, "activation-bash")
    if missing is not None:
        return [missing]
    env, site = ctx.state["env"], ctx.state["site"]
    folder = ctx.work / "activation"
    folder.mkdir(exist_ok=True)
    args = [a for s in _sonames(site) for a in ("--soname", s)] + ["--cupy"]
    argv = ["bash", "--noprofile", "--norc", "-c", _BASH, "bash", str(env), str(LIBCHECK),
            str(folder), *args]  # fmt: skip
    ran = ctx.run("activation (bash)", argv, most=120)
    result = _read_json(folder / "activated.json")
    ok, said, figures = judge.activation(result, prefix=str(env), site=str(site))
    before, after = _lines(folder / "before.txt"), _lines(folder / "after.txt")
    names = ("LD_LIBRARY_PATH", "PATH")
    problems = []
    if ran.rc != 0 or len(after) != len(names):
        problems.append(f"bash exited {ran.rc}: {tail(ran.err, 5)}")
    else:
        problems += judge.restored(
            dict(zip(names, before, strict=True)), dict(zip(names, after, strict=True)), names
        )
    if problems:
        ok, said = False, "; ".join([*problems, *([said] if ok is False else [])])
    figures["ld_library_path"] = (result or {}).get("ld_library_path")
    checks = [Check("activation-bash", ok, said, figures=figures, details={"run": ran.brief()})]
    c_ok, c_said, c_figures = judge.cupy(result, ctx.gpu)
    checks.append(Check("cupy-env", c_ok, c_said, figures=c_figures))
    return checks


def run_command(ctx: Context) -> Check:
    """``cudaenv run -p ENV -- python libcheck.py``: the same activation, without a shell."""
    missing = _built(ctx, "cudaenv-run")
    if missing is not None:
        return missing
    env, site = ctx.state["env"], ctx.state["site"]
    args = [a for s in _sonames(site) for a in ("--soname", s)]
    ran = ctx.cli("cudaenv run", "run", "-p", str(env), "--", "python", str(LIBCHECK), *args,
                  most=120)  # fmt: skip
    ok, said, figures = judge.activation(json_of(ran), prefix=str(env), site=str(site))
    return Check("cudaenv-run", ok, said, figures=figures, details={"run": ran.brief()})


def smoke_env(ctx: Context) -> Check:
    """``cudaenv smoke -p ENV``: spaCy on the GPU and the CPU, words per second."""
    missing = _built(ctx, "smoke-env")
    if missing is not None:
        return missing
    ran = ctx.cli("smoke -p ENV", "smoke", "-p", str(ctx.state["env"]), "--json", most=240)
    report = json_of(ran)
    ok, said, figures = judge.spacy(report, ctx.gpu, carried=bool(ctx.carried.get("spacy")))
    verdict = (report or {}).get("verdict")
    if report is not None and (verdict == "broken" or (ctx.gpu and verdict != "gpu")):
        ok, said = False, f"{said}; smoke's verdict is {verdict}: {report.get('problems')}"
    return Check("smoke-env", ok, said, figures=figures,
                 details={"run": ran.brief(), "report": report})  # fmt: skip


def _read_json(path: Path) -> Any:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def facts(ctx: Context) -> dict[str, Any]:
    """What the report says about the machine, besides the checks."""
    return {
        "machine": f"{platform.node()} ({platform.machine()}, Linux {platform.release()})",
        "cpus": os.cpu_count(),
        "uv_on_path": shutil.which("uv"),
        "disk_free_gb": round(shutil.disk_usage(ctx.work).free / 1e9, 1),
        "LD_LIBRARY_PATH": os.environ.get("LD_LIBRARY_PATH"),
        "CONDA_OVERRIDE_CUDA": os.environ.get("CONDA_OVERRIDE_CUDA"),
    }
