"""SmokeReport: parsing the probe's JSON (the edge), the GPU reason, the verdict, exit codes.

Documents here have the shape the real probe prints (checked against the real probe in
tests/functional/test_smoke.py). Those with a loaded driver and a GPU stand in for a machine
this one cannot be; they enter through the same parser as the real thing.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from cudaenv.knowledge.logschema import load_log_rules
from cudaenv.smoke.report import Gpu, SmokeReport

SMOKE = Path(__file__).resolve().parents[2] / "src" / "cudaenv" / "smoke"
LOGS = Path(__file__).resolve().parents[1] / "data" / "logs"
NO_DRIVER = {
    "loaded": False,
    "path": None,
    "error": "libcuda.so.1: cannot open shared object file: No such file or directory",
    "init": None,
    "cuda_version": None,
    "devices": [],
}
H100 = {
    **NO_DRIVER,
    "loaded": True,
    "error": None,
    "init": 0,
    "cuda_version": "12.4",
    "path": "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
    "devices": ["NVIDIA H100 80GB HBM3"],
}


def script(name: str):
    spec = importlib.util.spec_from_file_location(f"cudaenv_test_{name}", SMOKE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse(doc: dict) -> SmokeReport:
    return SmokeReport.from_json(doc, rules=load_log_rules())


def captured(name: str, phase: str = "gpu") -> list[dict[str, str]]:
    text = (LOGS / name).read_text(encoding="utf-8").splitlines()
    return [{"phase": phase, "line": ln} for ln in text if ln.strip() and not ln.startswith("#")]


def test_nothing_installed_no_driver_is_cpu_only_and_exit_zero() -> None:
    report = parse({"driver": NO_DRIVER, "libraries": []})
    assert report.verdict == "cpu-only" and report.problems == ()
    assert not report.gpu.available
    assert report.gpu.reason.startswith("no NVIDIA driver on this machine: libcuda.so.1")
    assert report.exit_code() == 0
    assert report.exit_code(require_gpu=True) == 2


def test_a_library_that_does_not_load_breaks_the_run() -> None:
    libs = [
        {
            "soname": "libcudart.so.12",
            "loaded": True,
            "path": "/e/nvidia/cuda_runtime/lib/libcudart.so.12",
            "error": None,
        },
        {
            "soname": "libcudnn.so.9",
            "loaded": False,
            "path": None,
            "error": "libcudnn.so.9: cannot open shared object file",
        },
    ]
    report = parse({"driver": NO_DRIVER, "libraries": libs})
    assert report.verdict == "broken"
    assert report.problems == (
        "libcudnn.so.9 does not load: libcudnn.so.9: cannot open shared object file",
    )
    assert report.exit_code() == 2
    assert report.libraries[0].path == Path("/e/nvidia/cuda_runtime/lib/libcudart.so.12")


def test_tf_without_gpu_on_a_gpu_machine_says_why_from_its_own_log() -> None:
    tf = {
        "version": "2.12.0",
        "cuda_version": "11.8",
        "cudnn_version": "8",
        "gpus": [],
        "log": captured("tf212_cannot_dlopen.txt"),
    }
    report = parse({"driver": H100, "libraries": [], "tensorflow": tf})
    assert report.verdict == "cpu-only"
    assert report.gpu.reason.startswith("TensorFlow sees no GPU: At least one CUDA library")
    assert [x.verdict for x in report.tensorflow.log] == ["problem", "problem"]
    assert str(report.tensorflow.cuda) == "11.8"
    assert report.exit_code(require_gpu=True) == 2


def test_gpu_used_by_tf_and_spacy() -> None:
    tf = {
        "version": "2.15.1",
        "cuda_version": "12.2",
        "cudnn_version": "8",
        "gpus": ["/physical_device:GPU:0"],
        "matmul_seconds": {"cpu": 0.02, "gpu": 0.001, "size": 1024},
        "log": captured("tf214_factory_noise.txt", "import"),
    }
    spacy = {
        "cpu": {"version": "3.7.5", "words_per_second": 5000.0, "log": []},
        "gpu": {"version": "3.7.5", "words_per_second": 40000.0, "log": []},
    }
    report = parse(
        {
            "driver": H100,
            "tensorflow": tf,
            "spacy": spacy,
            "together": {"output_shape": [4, 8], "log": []},
        }
    )
    assert report.verdict == "gpu" and report.gpu.available
    assert report.gpu.reason == "GPU in use: NVIDIA H100 80GB HBM3"
    assert report.spacy.words_per_second == {"cpu": 5000.0, "gpu": 40000.0}
    assert {x.verdict for x in report.tensorflow.log} == {"noise"}
    assert report.exit_code(require_gpu=True) == 0


def test_thinc_gpu_error_is_translated_with_cupys_real_error() -> None:
    spacy = {
        "cpu": {"version": "3.7.5", "words_per_second": 5000.0},
        "gpu": {
            "version": "3.7.5",
            "error": "ValueError: Cannot use GPU, CuPy is not installed",
            "cause": "ImportError: libcublas.so.12: cannot open shared object file",
        },
    }
    report = parse({"driver": H100, "spacy": spacy, "distributions": {"cupy-cuda12x": "12.3.0"}})
    assert not report.spacy.gpu
    assert "also when CuPy is installed" in report.spacy.gpu_error
    assert "CuPy says: ImportError: libcublas.so.12" in report.spacy.gpu_error
    assert report.gpu.reason.startswith("spaCy cannot use the GPU: ValueError: Cannot use GPU")
    assert report.verdict == "cpu-only"


def test_spacy_without_cupy_is_meant_for_the_cpu() -> None:
    spacy = {
        "cpu": {"version": "3.7.5", "words_per_second": 5000.0},
        "gpu": {"version": "3.7.5", "error": "ValueError: Cannot use GPU, CuPy is not installed"},
    }
    tf = {"version": "2.15.1", "gpus": ["/physical_device:GPU:0"], "log": []}
    report = parse({"driver": H100, "spacy": spacy, "tensorflow": tf, "distributions": {}})
    assert report.gpu.available and report.verdict == "gpu"
    assert "CuPy is not installed" in report.spacy.gpu_error


def test_framework_failures_are_problems() -> None:
    doc = {
        "driver": NO_DRIVER,
        "tensorflow": {"error": "ImportError: numpy.dtype size changed", "log": []},
        "spacy": {"cpu": {"error": "ModuleNotFoundError: No module named 'click'"}},
    }
    report = parse(doc)
    assert report.verdict == "broken"
    assert report.problems == (
        "TensorFlow fails: ImportError: numpy.dtype size changed",
        "spaCy fails on the CPU: ModuleNotFoundError: No module named 'click'",
    )


def test_json_output_has_the_documented_shape() -> None:
    tf = {
        "version": "2.13.1",
        "gpus": [],
        "log": captured("tf213_cudart_missing_tensorrt.txt", "import"),
    }
    out = parse(
        {
            "driver": NO_DRIVER,
            "tensorflow": tf,
            "spacy": {"cpu": {"version": "3.7.5", "words_per_second": 10.0}},
        }
    ).to_json()
    json.dumps(out)  # serialisable
    assert out["gpu"] == {"available": False, "reason": out["gpu"]["reason"]}
    assert out["tensorflow"]["version"] == "2.13.1" and out["tensorflow"]["gpus"] == []
    first = out["tensorflow"]["log"][0]
    assert {"line", "verdict", "explanation"} <= set(first) and first["verdict"] == "problem"
    assert out["spacy"] == {
        "version": "3.7.5",
        "gpu": False,
        "gpu_error": None,
        "error": None,
        "crash": None,
        "words_per_second": {"cpu": 10.0, "gpu": None},
    }
    assert out["verdict"] == "cpu-only" and out["libraries"] == []


def test_unknown_versions_and_lines_do_not_crash_parsing() -> None:
    tf = {
        "version": "2.16.0-dev",
        "cuda_version": "64_112",
        "gpus": [],
        "log": [{"line": "hello", "phase": "import"}],
    }
    report = parse({"driver": NO_DRIVER, "tensorflow": tf})
    assert report.tensorflow.cuda is None
    assert report.tensorflow.log[0].verdict == "unknown"


def test_probe_parse_child_splits_phases_and_finds_the_result() -> None:
    probe = script("probe")
    stdout = "noise a library printed\n\n" + probe.RESULT + json.dumps({"version": "1"}) + "\n"
    stderr = "\n".join([probe.PHASE + "import", "line A", "", probe.PHASE + "gpu", "line B"])
    got = probe.parse_child(0, stdout, stderr)
    assert got == {
        "version": "1",
        "log": [{"phase": "import", "line": "line A"}, {"phase": "gpu", "line": "line B"}],
    }
    died = probe.parse_child(-11, "", "Segmentation fault")
    assert died["error"] == "killed by SIGSEGV (signal 11)"
    assert died["crash"] == {"signal": 11, "name": "SIGSEGV", "phase": "start"}
    assert died["log"] == [{"phase": "start", "line": "Segmentation fault"}]
    exited = probe.parse_child(3, "", "")
    assert exited["error"] == "the child process died (exit status 3)" and "crash" not in exited


def test_probe_and_parts_agree_on_their_markers() -> None:
    probe, parts = script("probe"), script("parts")
    assert (probe.RESULT, probe.PHASE, probe.PARTS) == (parts.RESULT, parts.PHASE, parts.PARTS)


@pytest.mark.parametrize("name", ["probe", "parts"])
def test_probe_scripts_import_no_cudaenv_code(name: str) -> None:
    text = (SMOKE / f"{name}.py").read_text()
    assert "import cudaenv" not in text and "from cudaenv" not in text


def test_sonames_come_from_the_recipes_of_installed_frameworks_then_the_wheels(
    tmp_path: Path,
) -> None:
    from cudaenv.envs.base import Env
    from cudaenv.knowledge import load
    from cudaenv.smoke import installed, probe_sonames, recipe_lines

    site = tmp_path / "lib" / "python3.11" / "site-packages"
    for name in ("tensorflow-2.15.1", "cupy_cuda12x-13.6.0", "nvidia_cuda_nvrtc_cu12-12.2.140"):
        (site / f"{name}.dist-info").mkdir(parents=True)
    (site / "nvidia" / "cuda_nvrtc" / "lib").mkdir(parents=True)
    for soname in ("libnvrtc.so.12", "libnvrtc-builtins.so.12.2", "libcudart.so.12"):
        (site / "nvidia" / "cuda_nvrtc" / "lib" / soname).write_bytes(b"")
    env = Env(prefix=tmp_path, python=tmp_path / "bin/python", site_packages=site, backend="venv")
    dists = installed(env)
    assert str(dists["cupy-cuda12x"]) == "13.6.0" and "nvidia-cuda-nvrtc-cu12" in dists
    knowledge = load()
    lines = recipe_lines(dists, knowledge)
    assert [str(getattr(x, "line", getattr(x, "name", None))) for x in lines] == [
        "2.15",
        "cupy-cuda12x",
    ]
    sonames = probe_sonames(env, lines, load_log_rules().sonames)
    tf, cupy = lines
    assert sonames[: len(tf.sonames)] == list(tf.sonames)
    assert set(sonames) == set(tf.sonames) | set(cupy.sonames)  # libcudart.so.12 only once
    assert "libnvrtc-builtins.so.12.2" not in sonames  # not a library frameworks load by name
    assert recipe_lines(dists, None) == ()


def _torch(**fields: object) -> dict:
    return {"version": "2.7.1", "cuda_version": "12.6", "cudnn_version": "9.5.1", **fields}


def test_torch_on_the_gpu_and_two_cudnns_in_one_process_is_broken() -> None:
    """TF and PyTorch in one process each loading its own libcudnn: the classic failure."""
    tf_cudnn = "/env/lib/python3.11/site-packages/nvidia/cudnn/lib/libcudnn.so.9"
    other = "/usr/local/cuda-12.4/lib64/libcudnn.so.9"
    together = {
        "device": "gpu",
        "frameworks": {
            "tensorflow": {"version": "2.18.1", "loaded": {"libcudnn.so.9": tf_cudnn}},
            "torch": {"version": "2.7.1", "loaded": {"libcudnn.so.8": other}},
        },
        "cudnn": sorted([tf_cudnn, other]),
        "log": [],
    }
    torch = _torch(gpus=["NVIDIA H100 80GB HBM3"], loaded={"libcudnn.so.9": tf_cudnn})
    report = parse({"driver": H100, "torch": torch, "together": together})
    assert report.torch is not None and report.torch.gpus == ("NVIDIA H100 80GB HBM3",)
    assert str(report.torch.cudnn) == "9.5.1"
    (problem,) = report.problems
    assert problem.startswith("two cuDNN libraries are loaded in one process: ")
    assert f"{other} (by torch)" in problem and f"{tf_cudnn} (by tensorflow)" in problem
    assert report.verdict == "broken" and report.exit_code() == 2
    assert parse({"driver": H100, "torch": torch}).verdict == "gpu"  # alone: fine


def test_a_cuda_torch_that_sees_no_gpu_says_why_and_a_cpu_build_is_not_blamed() -> None:
    why = "RuntimeError: Found no NVIDIA driver on your system."
    report = parse({"driver": H100, "torch": _torch(gpus=[], gpu_error=why)})
    assert report.gpu == Gpu(available=False, reason=f"PyTorch sees no GPU: {why}")
    assert report.verdict == "cpu-only" and report.exit_code(require_gpu=True) == 2
    cpu_build = _torch(version="2.13.0+cpu", cuda_version=None, cudnn_version=None, gpus=[])
    assert parse({"driver": H100, "torch": cpu_build}).gpu.available  # nothing meant the GPU


def test_jax_with_its_cuda_plugin_but_no_gpu_gives_the_reason_its_log_names() -> None:
    jax = {
        "version": "0.7.2",
        "backend": "cpu",
        "gpus": [],
        "gpu_error": "RuntimeError: Unknown backend: 'gpu' requested",
        "log": captured("jax_unable_to_load_cudnn.txt"),
    }
    dists = {"jax": "0.7.2", "jax-cuda12-plugin": "0.7.2"}
    report = parse({"driver": H100, "jax": jax, "distributions": dists})
    assert report.gpu.reason.startswith("JAX sees no GPU: JAX's CUDA plugin could not load cuDNN")
    without_plugin = parse({"driver": H100, "jax": jax, "distributions": {"jax": "0.7.2"}})
    assert without_plugin.gpu.available  # a CPU JAX is not meant to use the GPU
    assert report.to_json()["jax"]["backend"] == "cpu"


def test_parts_write_torchs_cudnn_number_as_a_version() -> None:
    parts = script("parts")
    assert parts._cudnn_text(90501) == "9.5.1"  # cuDNN 9: major * 10000 + minor * 100 + patch
    assert parts._cudnn_text(8902) == "8.9.2"  # cuDNN 8: major * 1000 + minor * 100 + patch
    assert parts._cudnn_text(None) is None
    args = parts.parse_args(["--part", "together", "--with", "torch", "--with", "jax"])
    assert args.frameworks == ["torch", "jax"] and not args.gpu


# The shape of Python 3.14's fault report (faulthandler, with its C stack), as a JAX part that
# CUPTI killed would leave it: made for this test in the format CPython documents.
FAULT_REPORT = """\
Fatal Python error: Segmentation fault

Thread 0x00007f3a1bfff640 (most recent call first):
  File "/env/lib/python3.14/site-packages/jax/_src/clusters/cluster.py", line 40 in poll
  File "/env/lib/python3.14/threading.py", line 1012 in run

Current thread 0x00007f3a2e7b6740 (most recent call first):
  File "/env/lib/python3.14/site-packages/jax/_src/xla_bridge.py", line 1011 in backends
  File "/env/lib/python3.14/site-packages/jax/_src/xla_bridge.py", line 1174 in devices
  File "/probe/parts.py", line 151 in part_jax

Current thread's C stack trace (most recent call first):
  Binary file "/env/bin/python3.14", at _Py_DumpStack+0x31 [0x55d0c1a5a871]
  Binary file "/env/bin/python3.14", at +0x27d1f0 [0x55d0c1a6d1f0]
  Binary file "/lib/x86_64-linux-gnu/libc.so.6", at +0x45330 [0x7f3a2e845330]
  Binary file "/env/lib/python3.14/site-packages/nvidia/cuda_cupti/lib/libcupti.so.12", at \
cuptiActivityEnable+0x5c [0x7f3a05a3c95c]
  Binary file "/env/lib/python3.14/site-packages/jaxlib/xla_extension.so", at +0x5e2a1b0 \
[0x7f3a0f62a1b0]
"""


def test_a_part_killed_by_a_signal_is_a_crash_with_its_library_not_a_gpu_failure() -> None:
    probe = script("probe")
    stderr = probe.PHASE + "import\n" + probe.PHASE + "gpu\n" + FAULT_REPORT
    jax = probe.parse_child(-11, "", stderr)
    together = {**probe.parse_child(-11, "", probe.PHASE + "jax\n" + FAULT_REPORT)}
    together["device"] = "cpu"  # what the probe adds on a machine without a GPU
    report = parse({"driver": NO_DRIVER, "jax": jax, "together": together})
    assert report.jax.crash is not None and report.jax.crash.library == "libcupti.so.12"
    where = "in libcupti.so.12, called from jax/_src/xla_bridge.py (backends)"
    assert report.problems == (
        f"the frameworks together in one process crashed: killed by SIGSEGV (signal 11) while "
        f"it ran JAX, {where}",
        f"JAX crashed: killed by SIGSEGV (signal 11) while it looked for a GPU, {where}",
    )
    assert report.verdict == "broken" and not any("on the GPU" in p for p in report.problems)
    assert report.to_json()["jax"]["crash"]["library"] == "libcupti.so.12"


def test_an_abort_after_tensorflows_fatal_check_names_that_check() -> None:
    """TensorFlow's CHECK failures abort (SIGABRT) with the reason on the line before the
    fault report: the crash must carry it, and the line's row must explain it."""
    probe = script("probe")
    (fatal,) = [row["line"] for row in captured("tf212_thinc_unaligned_abort.txt")]
    frames = (
        "Fatal Python error: Aborted\n\n"
        "Current thread 0x00007f5fdf89cb80 (most recent call first):\n"
        '  File "/env/lib/python3.11/site-packages/tensorflow/python/ops/gen_math_ops.py", '
        "line 6013 in mat_mul\n"
        '  File "/probe/parts.py", line 281 in _together_spacy\n'
    )
    stderr = probe.PHASE + "tensorflow\n" + probe.PHASE + "spacy\n" + fatal + "\n" + frames
    together = {**probe.parse_child(-6, "", stderr), "device": "cpu"}
    report = parse({"driver": NO_DRIVER, "together": together})
    assert report.problems == (
        "the frameworks together in one process crashed: killed by SIGABRT (signal 6) while it "
        "ran spaCy, called from tensorflow/python/ops/gen_math_ops.py (mat_mul), after the "
        'fatal message "Check failed: IsAligned() ptr = 0x55b44f04fe70" '
        "(tensorflow/core/framework/tensor.cc:773)",
    )
    known = load_log_rules().classify(fatal)
    assert known is not None and known.rule == "tf-unaligned-buffer"
    assert "64-byte aligned" in known.explanation and "0x55b44f04fe70" in known.explanation


def test_the_probe_reads_a_mapped_file_whose_path_holds_spaces() -> None:
    parts = script("parts")
    row = "7f5f0000-7f5f1000 r-xp 00000000 fd:01 42   /envs/tf 212/lib/libcudart.so.11.0\n"
    assert parts.mapped_file(row) == "/envs/tf 212/lib/libcudart.so.11.0"
    assert parts.mapped_file("7ffd0000-7ffd2000 rw-p 00000000 00:00 0\n") == ""
