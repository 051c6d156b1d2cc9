"""scripts/gpu-check's own logic: its verdicts on a GPU machine's JSON, the carried archive,
and wheels made from installed distributions.

The verdicts are judged on documents shaped as ``cudaenv smoke --json`` and ``detect --json``
print them (the keys their ``to_json`` writes), with a GPU's values: this machine has none, and
the dry run (tests/functional/test_gpu_check.py) sees only the CPU answers.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from cudaenv.smoke.report import SmokeReport
from tests.functional.test_smoke import make_venv, uv_install

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from gpucheck import carry, judge, prepare, repack  # noqa: E402

H100 = {"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0", "memory_mib": 81559}


def answer(source: str, driver: str | None = "580.159.04", cuda: str = "13.0", gpus=(H100,)):
    return {"driver_version": driver, "cuda_driver_version": cuda, "gpus": list(gpus),
            "source": source, "problems": []}  # fmt: skip


def agreeing() -> dict:
    return {
        "default": answer("nvml"),
        "nvml": answer("nvml"),
        "libcuda": answer("libcuda", driver=None, gpus=()),
        "nvidia-smi": answer("nvidia-smi"),
        "proc": answer("proc", gpus=()),
    }


def test_detect_all_probes_agree() -> None:
    ok, said, figures = judge.detect(agreeing())
    assert ok is True, said
    assert figures["gpus"] == ["NVIDIA H100 80GB HBM3 (compute 9.0)"]
    assert (figures["driver"], figures["max_cuda"]) == ("580.159.04", "13.0")


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"proc": answer("proc", driver="580.95.05", gpus=())}, "driver versions differ"),
        ({"libcuda": answer("libcuda", driver=None, cuda="12.9", gpus=())}, "max CUDA versions"),
        ({"nvidia-smi": None}, "detect --source nvidia-smi gave no JSON"),
        ({"proc": {**answer("none", driver=None, gpus=()), "problems": ["no /proc file"]}},
         "the proc probe did not answer: no /proc file"),
        ({"nvml": answer("nvml", gpus=({**H100, "compute_capability": None},))},
         "GPU lists differ"),
    ],
)  # fmt: skip
def test_detect_disagreements(change: dict, said: str) -> None:
    ok, summary, _ = judge.detect({**agreeing(), **change})
    assert ok is False and said in summary


def smoke(**frameworks) -> dict:
    """A smoke report as ``SmokeReport.to_json`` writes it: parsed from a probe document."""
    return {"verdict": "gpu", "problems": [], "gpu": {"available": True}, **frameworks}


TORCH = {"version": "2.11.0+cu130", "gpus": ["NVIDIA H100 80GB HBM3"], "error": None,
         "loaded": {"libcudart.so.13": "/env/site-packages/nvidia/cu13/lib/libcudart.so.13"},
         "matmul_seconds": {"size": 1024, "cpu": 0.004, "gpu": 0.0001}}  # fmt: skip
JAX = {"version": "0.11.2", "gpus": ["cuda:0"], "error": None, "loaded": {"libcublas.so.13": "x"},
       "matmul_seconds": {"size": 1024, "cpu": 0.01, "gpu": 0.0002}}  # fmt: skip


def test_frameworks_on_the_gpu_with_their_ratios() -> None:
    ok, said, figures = judge.frameworks(smoke(torch=TORCH, jax=JAX), ("torch", "jax"), True)
    assert ok is True, said
    assert said == "PyTorch GPU used; JAX GPU used"
    assert figures["torch_matmul_gpu_over_cpu"] == pytest.approx(0.025)
    assert figures["jax_libraries"] == {"libcublas.so.13": "x"}


@pytest.mark.parametrize(
    ("report", "said"),
    [
        (smoke(torch=TORCH), "JAX is not installed there"),
        (smoke(torch=TORCH, jax={**JAX, "gpus": [], "gpu_error": "no CUDA plugin",
                                 "matmul_seconds": {"cpu": 0.01}}),
         "JAX: CPU only: no CUDA plugin"),
        (smoke(torch={**TORCH, "loaded": {}}, jax=JAX), "PyTorch: GPU used"),  # no paths
        ({**smoke(torch=TORCH, jax=JAX), "verdict": "broken", "problems": ["libcufile.so.0"]},
         "smoke's verdict is broken"),
    ],
)  # fmt: skip
def test_frameworks_that_do_not_use_the_gpu_fail(report: dict, said: str) -> None:
    ok, summary, _ = judge.frameworks(report, ("torch", "jax"), True)
    assert ok is False and said in summary


def test_a_dry_run_takes_the_cpu_verdict() -> None:
    cpu = {**TORCH, "gpus": [], "loaded": {}, "matmul_seconds": {"cpu": 0.004}}
    report = {**smoke(torch=cpu), "verdict": "cpu-only"}
    assert judge.frameworks(report, (), gpu=False)[0] is True
    assert judge.frameworks(report, (), gpu=True)[0] is False


def test_spacy_words_per_second_side_by_side() -> None:
    run = {"version": "3.8.18", "gpu": True, "gpu_error": None, "error": None,
           "words_per_second": {"cpu": 6000.0, "gpu": 24000.0}}  # fmt: skip
    ok, said, figures = judge.spacy(smoke(spacy=run), gpu=True, carried=True)
    assert ok is True and said == "spaCy 3.8.18: 6,000 words/s on the CPU, 24,000 on the GPU"
    assert figures["spacy_gpu_over_cpu"] == 4.0
    lost = {**run, "gpu": False, "gpu_error": "CuPy is not installed",
            "words_per_second": {"cpu": 6000.0, "gpu": None}}  # fmt: skip
    assert judge.spacy(smoke(spacy=lost), gpu=True, carried=True)[0] is False
    assert judge.spacy(smoke(), gpu=True, carried=False)[0] is None
    assert judge.spacy(smoke(), gpu=True, carried=True)[0] is False


def test_the_smoke_report_writes_what_the_judge_reads(data_dir: Path) -> None:
    """The keys judged are the keys SmokeReport.to_json writes (a probe document parsed)."""
    from cudaenv.knowledge.logschema import load_log_rules

    probe = {"driver": {"loaded": True, "devices": ["NVIDIA H100"]}, "libraries": [],
             "torch": {**TORCH}, "jax": {**JAX},
             "distributions": {"torch": "2.11.0", "jax-cuda13-plugin": "0.11.2"}}  # fmt: skip
    written = SmokeReport.from_json(probe, rules=load_log_rules()).to_json()
    ok, said, figures = judge.frameworks(written, ("torch", "jax"), True)
    assert ok is True, said
    assert figures["torch_libraries"] == TORCH["loaded"]


def test_activation_needs_every_library_from_the_environment() -> None:
    site = "/w/env/lib/python3.12/site-packages"
    lib = f"{site}/nvidia/cu13/lib/libcudart.so.13"
    result = {"prefix": "/w/env", "libraries": [{"soname": "libcudart.so.13", "loaded": True,
              "path": lib, "error": None}],
              "driver": {"loaded": True, "path": "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
                         "init": 0}}  # fmt: skip
    assert judge.activation(result, prefix="/w/env", site=site)[0] is True
    system = {
        **result,
        "libraries": [{**result["libraries"][0], "path": "/usr/local/cuda/lib64/x"}],
    }
    ok, said, _ = judge.activation(system, prefix="/w/env", site=site)
    assert ok is False and "loads from /usr/local/cuda/lib64/x" in said
    failed = {**result, "driver": {**result["driver"], "init": 100}}
    assert "cuInit returned 100" in judge.activation(failed, prefix="/w/env", site=site)[1]


def test_deactivate_must_give_every_variable_back() -> None:
    before = {"LD_LIBRARY_PATH": "<unset>", "PATH": "/usr/bin"}
    assert judge.restored(before, dict(before), ("LD_LIBRARY_PATH", "PATH")) == []
    after = {**before, "LD_LIBRARY_PATH": ""}
    assert judge.restored(before, after, ("LD_LIBRARY_PATH",)) == [
        "LD_LIBRARY_PATH was '<unset>' before activating and '' after deactivate"
    ]


# --- the carried archive and the repacked wheels -------------------------------------------


@pytest.fixture
def installed(tmp_path: Path, make_nvidia_wheel) -> tuple[Path, Path]:
    """A wheel as the index has it, and a venv it is installed into."""
    wheel = make_nvidia_wheel("nvidia-cudnn-cu12", "9.3.0.75", libs=["libcudnn.so.9"],
                              requires_dist=["nvidia-cublas-cu12"])  # fmt: skip
    venv = make_venv(tmp_path / "venv")
    uv_install(venv, "--no-deps", "--no-index", str(wheel))
    return wheel, venv.site_packages


def members(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as zf:
        return {n: zf.read(n) for n in zf.namelist() if not n.endswith("/RECORD")}


def test_a_repacked_wheel_holds_what_was_installed(tmp_path: Path, installed) -> None:
    wheel, site = installed
    dist = repack.installed(site)["nvidia-cudnn-cu12"]
    made = repack.wheel_of(dist, tmp_path / "out")
    assert made.name == wheel.name
    ours, theirs = members(made), members(wheel)
    assert {n: d for n, d in ours.items() if "dist-info" not in n} == {
        n: d for n, d in theirs.items() if "dist-info" not in n
    }
    assert ours[f"{dist.info.name}/METADATA"] == theirs[f"{dist.info.name}/METADATA"]
    assert dist.requires() == ["nvidia-cublas-cu12"]
    again = make_venv(tmp_path / "again")  # and it installs
    uv_install(again, "--no-deps", "--no-index", str(made))
    assert (again.site_packages / "nvidia" / "cudnn" / "lib" / "libcudnn.so.9").is_file()


def test_a_file_changed_since_install_is_refused(tmp_path: Path, installed) -> None:
    _, site = installed
    library = site / "nvidia" / "cudnn" / "lib" / "libcudnn.so.9"
    library.unlink()  # uv hardlinked it from the shared test cache: a new file, not an edit of that
    library.write_bytes(b"not the library")
    dist = repack.installed(site)["nvidia-cudnn-cu12"]
    with pytest.raises(repack.RepackError, match="changed since it was installed"):
        repack.wheel_of(dist, tmp_path / "out")
    assert repack.wheel_of(dist, tmp_path / "out", strict=False).is_file()


def test_carried_wheels_come_back_with_the_same_files(tmp_path: Path, installed) -> None:
    wheel, _ = installed
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    found = prepare.pack([(wheel, sha, ["spacy"])], tmp_path / "carried")
    assert found["wheels"][0]["sha256"] == sha
    groups = carry.unpack(tmp_path / "carried", tmp_path / "there")
    (rebuilt,) = groups["spacy"]
    assert rebuilt.name == wheel.name
    with zipfile.ZipFile(wheel) as a, zipfile.ZipFile(rebuilt) as b:
        assert a.namelist() == b.namelist()
        assert all(a.read(n) == b.read(n) for n in a.namelist())


def test_a_carried_member_that_is_not_its_records_is_refused(tmp_path: Path, installed) -> None:
    wheel, _ = installed
    prepare.pack([(wheel, "x", ["spacy"])], tmp_path / "carried")
    archive = tmp_path / "carried" / carry.ARCHIVE
    with tarfile.open(archive) as tar:
        entries = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]
    with tarfile.open(archive, "w:xz") as tar:
        for member, data in entries:
            if member.name.endswith("libcudnn.so.9"):
                data = b"tampered"
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    with pytest.raises(carry.CarryError, match=r"libcudnn\.so\.9 is not what its RECORD says"):
        carry.unpack(tmp_path / "carried", tmp_path / "there")


def test_gpu_check_help_runs() -> None:
    """The entry script runs as a file, under any python3 (no package of its own)."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu-check"), "--help"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0 and "--prepare DIR" in done.stdout
