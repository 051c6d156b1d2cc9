"""The log-line table on real captured lines (tests/data/logs), its loader, `cudaenv explain`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cudaenv.doctor import explain_log
from cudaenv.errors import KnowledgeError
from cudaenv.knowledge.loglines import CAUSES, VERDICTS
from cudaenv.knowledge.logschema import load_log_rules

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs"

# file -> the rule each log line (in order) must be classified by; None: no row knows the line
EXPECTED: dict[str, list[str | None]] = {
    "tf212_cannot_dlopen.txt": ["cannot-dlopen-gpu-libraries", "skipping-gpu-devices"],
    "tf214_factory_noise.txt": ["factory-already-registered"] * 3,
    "tf213_cudart_missing_tensorrt.txt": [
        "cudart-not-found",
        "cudart-not-found",
        "cpu-feature-guard",
        "cpu-feature-guard-continued",
        "tensorrt-missing",
        "numa-node",
    ],
    "tf25_libcudart_11.txt": ["cudart-library-missing", "cudart-ignore-above"],
    "tf_cusolver_needs_nvjitlink.txt": [
        "successfully-opened",
        "successfully-opened",
        "dependency-missing",
        "successfully-opened",
        "cannot-dlopen-gpu-libraries",
    ],
    "tf_cudnn_mismatch.txt": ["cudnn-version-mismatch", "dnn-init-failed"],
    "tf216_cuinit_no_device.txt": [
        "onednn",
        "cpu-feature-guard",
        "cpu-feature-guard-continued",
        "tensorrt-missing",
        "cuda-no-device",
        "cuda-diagnostics",
        "cuda-diagnostics",
    ],
    "tf_missing_libs_ld_path.txt": [
        "library-missing",
        "library-missing",
        "cannot-dlopen-gpu-libraries",
        "skipping-gpu-devices",
    ],
    "tf215_no_driver_no_wheels.txt": [
        "cudart-library-missing",
        "cudart-not-found",
        *["factory-already-registered"] * 3,
        "cudart-library-missing",
        "cudart-not-found",
        "cpu-feature-guard",
        "cpu-feature-guard-continued",
        "tensorrt-library",
        "tensorrt-library",
        "tensorrt-missing",
        "libcuda-missing",
        "kernel-driver-not-running",
    ],
    "tf219_absl_noise.txt": [
        "factory-already-registered",
        "absl-initialize-log",
        "factory-already-registered",
        "factory-already-registered",
        "computation-placer-registered",
    ],
    # cuInit in XLA's new wording (TF >= 2.18, JAX) and old wording (TF <= 2.17)
    "xla_cuinit_no_device_new.txt": ["cuda-no-device"],
    "xla_cuinit_no_device_new_driver_cc.txt": ["cuda-no-device"],
    "xla_cuinit_system_not_ready_new.txt": ["cuda-system-not-ready"],
    "tf_cuinit_303_new.txt": ["cuinit-driver-library-missing"],
    "tf_cuinit_303_old.txt": ["libcuda-missing", "cuinit-driver-library-missing"],
    "xla_cuinit_unknown_old.txt": ["cuda-unknown"],
    "xla_cuinit_driver_mismatch_old.txt": ["cuda-system-driver-mismatch", "kernel-dso-mismatch"],
    "tf_dso_mismatch_invalid_value.txt": [
        "cuinit-invalid-value",
        *["cuda-diagnostics"] * 4,
        None,  # GCC version: ... (second line of the driver version file)
        None,  # """
        "cuda-diagnostics",
        "kernel-dso-mismatch",
        None,  # "No GPU devices available on machine." (TF 0.x)
    ],
    "jax_dso_mismatch_driver_upgrade.txt": ["kernel-dso-mismatch"],
    "tfds_operating_system.txt": ["cuda-operating-system"],
    "tf218_unsupported_ptx.txt": ["ptx-newer-than-driver", None],
    # CuPy: the import-failure block, its original errors, runtime errors
    "cupy_import_libcudart12.txt": [
        "cuda-library-not-importable",
        *[None] * 2,  # "ImportError:", "====="
        "cupy-import-failed",
        *[None] * 6,  # CuPy's generic hints and "Original error:"
    ],
    "cupy_import_libcuda.txt": ["cupy-libcuda-missing"],
    "cupy_import_libnvjitlink.txt": ["cuda-library-not-importable"],
    "cupy_libcublas11.txt": ["cuda-library-not-importable"],
    "cupy_import_libcufft10.txt": ["cuda-library-not-importable"],
    "cupy_libnvrtc12.txt": ["cuda-library-not-importable"],
    "cupy_runtime_no_device.txt": ["cuda-no-device"],
    "cupy_runtime_insufficient_driver.txt": ["driver-too-old"],
    "cupy_runtime_compat_not_supported.txt": ["cuda-compat-not-supported"],
    "spacy_cupy_unknown.txt": ["cuda-unknown"],
    # PyTorch and JAX
    "torch_cudnn_incompatible.txt": ["torch-cudnn-incompatible"],
    "torch_nvjitlink_undefined_symbol.txt": ["nvjitlink-older-than-its-user"],
    "torch_no_driver.txt": ["torch-no-driver", None],  # the source line Python prints under it
    "torch_driver_too_old.txt": ["torch-driver-too-old"],
    "torch_cpu_build.txt": ["torch-cpu-build"],
    "jax_no_cuda_plugin.txt": ["jax-no-cuda-plugin"],
    "jax_cudnn_older_than_built.txt": ["jax-cudnn-older-than-built"],
    "jax_outdated_cudnn.txt": [
        "jax-cuda-components",
        "jax-outdated-cuda-component",
        *[None] * 4,  # the versions JAX lists under it
    ],
    "jax_unable_to_load_cudnn.txt": ["jax-cannot-load-cuda-component"],
    "tf212_thinc_unaligned_abort.txt": ["tf-unaligned-buffer"],
}


def log_lines(name: str) -> list[str]:
    text = (LOGS / name).read_text(encoding="utf-8")
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def test_every_capture_is_listed_and_sourced() -> None:
    files = {p.name for p in LOGS.glob("*.txt")}
    assert files == set(EXPECTED)
    readme = (LOGS / "README.md").read_text(encoding="utf-8")
    for name in files:
        text = (LOGS / name).read_text(encoding="utf-8").splitlines()
        header = [ln for ln in text if ln.startswith("#")]
        assert text[0].startswith("# source: ") and "https://" in "".join(header), name
        url = text[0].split()[2]
        row = next((r for r in readme.splitlines() if r.startswith(f"| `{name}` |")), "")
        assert url in row, f"README.md has no row naming {name} and {url}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_lines_are_classified(name: str) -> None:
    rules = load_log_rules()
    got = [rules.classify(line) for line in log_lines(name)]
    assert [c.rule if c else None for c in got] == EXPECTED[name]
    for c in got:
        if c is None:
            continue
        assert c.verdict in VERDICTS and c.cause in CAUSES
        assert "{" not in c.explanation and "{" not in c.fix  # templates all filled


def _first_of_each(rules: list[str | None]) -> list[str]:
    return list(dict.fromkeys(r for r in rules if r))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_explains_each_capture(cli, tmp_path: Path, name: str) -> None:
    """`cudaenv explain FILE --json` on each sample's log text (without its provenance header):
    its known lines, rule by rule, in order, each with an explanation, a fix and a source."""
    log = tmp_path / name
    log.write_text("\n".join(log_lines(name)) + "\n", encoding="utf-8")
    result = cli("explain", str(log), "--json")
    assert result.code == 0, result.err
    lines = json.loads(result.out)["lines"]
    assert _first_of_each([x["rule"] for x in lines]) == _first_of_each(EXPECTED[name])
    assert all(x["explanation"] and x["fix"] and x["source"].startswith("https://") for x in lines)
    assert "<TF line>" not in result.out and "<component>" not in result.out  # templates filled


def test_noise_is_noise_and_has_no_cause() -> None:
    rules = load_log_rules()
    for line in log_lines("tf214_factory_noise.txt") + log_lines("tf219_absl_noise.txt"):
        c = rules.classify(line)
        assert c is not None and (c.verdict, c.cause) == ("noise", "none")


def test_could_not_find_cuda_drivers_is_about_libcudart_not_the_driver() -> None:
    """cudart_stub.cc prints it when libcudart cannot be dlopened, not about the driver."""
    c = load_log_rules().classify(log_lines("tf213_cudart_missing_tensorrt.txt")[0])
    assert c is not None
    assert (c.verdict, c.cause) == ("problem", "library-path")
    assert "libcudart" in c.explanation and "not about the kernel driver" in c.explanation


def test_libcudart_11_names_cuda_11_the_wheel_its_folder_and_a_tf_line() -> None:
    (first, _) = explain_log("\n".join(log_lines("tf25_libcudart_11.txt")))
    assert "built for CUDA 11" in first.explanation
    assert "nvidia-cuda-runtime-cu11" in first.fix
    assert "site-packages/nvidia/cuda_runtime/lib" in first.fix
    assert "`cudaenv create --tf 2.14`" in first.fix  # newest final line loading it
    assert first.run == ("cudaenv create --tf 2.14",)


def test_missing_dependency_is_named_not_the_library_that_needs_it() -> None:
    line = log_lines("tf_cusolver_needs_nvjitlink.txt")[2]
    c = load_log_rules().classify(line)
    assert c is not None and c.rule == "dependency-missing"
    assert "libnvJitLink.so.12" in c.explanation
    assert "nvidia-nvjitlink-cu12" in c.fix and "nvidia/nvjitlink/lib" in c.fix


def test_missing_libcuda_is_the_driver_not_a_pip_wheel() -> None:
    line = log_lines("tf215_no_driver_no_wheels.txt")[-2]
    c = load_log_rules().classify(line)
    assert c is not None and (c.rule, c.cause) == ("libcuda-missing", "driver")
    assert "never by pip" in c.explanation


def test_cudnn_mismatch_names_both_versions_and_blames_two_copies() -> None:
    c = load_log_rules().classify(log_lines("tf_cudnn_mismatch.txt")[0])
    assert c is not None and c.cause == "several-installs"
    assert "cuDNN 9.3.0 but cuDNN 9.1.0 was loaded" in c.explanation


def test_explain_log_skips_unknown_lines_and_repeats() -> None:
    lines = log_lines("tf213_cudart_missing_tensorrt.txt")
    text = "\n".join(["hello world", *lines, "Epoch 1/10", *lines])
    got = explain_log(text)
    assert [c.rule for c in got] == [
        "cudart-not-found",
        "cpu-feature-guard",
        "cpu-feature-guard-continued",
        "tensorrt-missing",
        "numa-node",
    ]
    assert explain_log("nothing\nto see here\n") == ()


def test_thinc_messages_are_translated() -> None:
    rules = load_log_rules()
    c = rules.classify("ValueError: Cannot use GPU, CuPy is not installed")
    assert c is not None and "also when CuPy is installed" in c.explanation
    c = rules.classify("ValueError: No GPU devices detected")
    assert c is not None and c.cause == "driver"


def test_packaged_table_is_valid_and_every_row_is_sourced() -> None:
    rules = load_log_rules()
    assert rules.version and len(rules.rules) >= 25
    assert all(r.source.startswith("https://") for r in rules.rules)
    assert len({r.id for r in rules.rules}) == len(rules.rules)


def test_invalid_rows_are_reported_together_with_dotted_context(tmp_path: Path) -> None:
    bad = tmp_path / "log_lines.toml"
    bad.write_text(
        """
[meta]
version = "x"
[[rules]]
id = "a"
pattern = "("
verdict = "noise"
cause = "none"
explanation = "e"
fix = "f"
source = "https://example.org"
[[rules]]
id = "a"
pattern = "x (?P<lib>y)"
verdict = "bad"
cause = "gremlins"
explanation = "{nope}"
fix = "{lib_wheel}"
source = "http://insecure"
colour = "red"
[[rules]]
id = "c"
pattern = "p"
[sonames]
"not a soname" = ["nvidia-x-cu12"]
""",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError) as info:
        load_log_rules(bad)
    context = info.value.context or ""
    for expected in (
        "log_lines.toml: rules[0].pattern: not a regular expression",
        "rules[1].colour: unknown field",
        "rules[2].verdict: missing",
        "rules[2].source: missing",
        "sonames.'not a soname'",
    ):
        assert expected in context, expected
    # rules[1] is reported for its unknown field; fix the field and its values are reported too
    bad.write_text(bad.read_text().replace('colour = "red"\n', ""), encoding="utf-8")
    load_log_rules.cache_clear()
    with pytest.raises(KnowledgeError) as info:
        load_log_rules(bad)
    context = info.value.context or ""
    for expected in (
        "rules[1].verdict: 'bad' is not one of noise, problem, info",
        "rules[1].cause: 'gremlins' is not one of",
        "rules[1].source: must be an https:// URL",
        "rules[1].explanation: {nope} is not a group of the pattern",
    ):
        assert expected in context, expected
    assert "{lib_wheel}" not in context  # a derived field of a real group is allowed


def test_cli_explain_file_json_and_stdin(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    path = LOGS / "tf_missing_libs_ld_path.txt"
    result = cli("explain", str(path))
    assert result.code == 0
    assert "TensorFlow could not dlopen libcusolver.so.11" in result.out
    assert "fix: install nvidia-cusolver-cu11 or nvidia-cusolver-cu12" in result.out
    result = cli("explain", str(path), "--json")
    data = json.loads(result.out)
    assert [x["rule"] for x in data["lines"]] == [
        "library-missing",
        "library-missing",
        "cannot-dlopen-gpu-libraries",
        "skipping-gpu-devices",
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("Epoch 1/1\nloss: 0.3\n"))
    result = cli("explain", "-")
    assert result.code == 0 and "nothing to explain" in result.out


def test_cli_explain_missing_file_is_a_clear_error(cli, tmp_path: Path) -> None:
    result = cli("explain", str(tmp_path / "absent.log"))
    assert result.code == 2
    assert "cannot read" in result.err and "Traceback" not in result.err


def test_torch_cudnn_incompatibility_blames_a_second_cudnn_in_the_process() -> None:
    (line,) = explain_log("\n".join(log_lines("torch_cudnn_incompatible.txt")))
    assert (line.rule, line.cause) == ("torch-cudnn-incompatible", "several-installs")
    assert "built against cuDNN (8, 9, 2)" in line.explanation
    assert "another cuDNN (8, 8, 1)" in line.explanation
    assert "another framework" in line.explanation and "One process holds one" in line.explanation


def test_nvjitlink_older_than_cusparse_names_the_version_it_needs() -> None:
    (line,) = explain_log("\n".join(log_lines("torch_nvjitlink_undefined_symbol.txt")))
    assert line.rule == "nvjitlink-older-than-its-user"
    assert "libcusparse.so.12 needs nvJitLink 12_4" in line.explanation
    assert "older libnvJitLink.so.12" in line.explanation


def test_jax_lines_name_the_component_and_the_versions() -> None:
    older = explain_log("\n".join(log_lines("jax_cudnn_older_than_built.txt")))[0]
    assert "built against cuDNN 8906" in older.explanation and "cuDNN 8600" in older.explanation
    missing = explain_log("\n".join(log_lines("jax_unable_to_load_cudnn.txt")))[0]
    assert "could not load cuDNN" in missing.explanation and missing.cause == "library-path"


def test_cuda_13_sonames_are_found_in_the_shared_cu13_folder() -> None:
    rules = load_log_rules()
    assert rules.sonames["libcudart.so.13"] == ("nvidia-cuda-runtime",)
    assert rules.wheel_dir("libcudart.so.13") == "nvidia/cu13/lib"
    assert rules.wheel_dir("libcudart.so.12") == "nvidia/cuda_runtime/lib"
    assert "nvidia-cudnn-cu13" in rules.sonames["libcudnn.so.9"]


def _explain(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """``cudaenv explain ARGS`` in a process allowed 2 GiB, so that reading without a bound
    fails at once instead of filling this machine's memory."""
    import os
    import resource
    import subprocess
    import sys

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    with open(stdin or os.devnull, "rb") as source:
        done = subprocess.run(
            [sys.executable, "-m", "cudaenv", "explain", *args],
            stdin=source,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=limit,
            check=False,
        )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("args", [["/dev/zero"], ["-"]], ids=["file", "stdin"])
def test_an_endless_log_is_read_up_to_a_bound_and_said_so(args):
    from cudaenv.cli.commands.explain import LIMIT

    code, out, err = _explain(*args, stdin="/dev/zero")
    assert code == 0, err
    what = "stdin" if args == ["-"] else "/dev/zero"
    assert f"warning: {what} is longer than {LIMIT >> 20} MiB: only its first ones were read" in err
    assert "nothing to explain" in out


def test_a_log_larger_than_the_bound_is_read_from_its_end(tmp_path):
    from cudaenv.cli.commands.explain import LIMIT

    log = tmp_path / "train.log"
    filler = (
        "epoch 1/10 - loss: 0.5 - accuracy: 0.9\n" * (LIMIT // 20)
    ).encode()  # twice the bound
    last = b"Could not find cuda drivers on your machine, GPU will not be used.\n"
    log.write_bytes(filler + last)
    code, out, err = _explain(str(log))
    assert code == 0, err
    assert f"only its last {LIMIT >> 20} MiB were read" in err
    assert "Could not find cuda drivers on your machine" in out
