"""PyTorch and JAX rows and NVIDIA's compatibility rules: the data answers, bad rows are refused.

The real recipes/torch.toml, recipes/jax.toml and constraints/compat_rules.toml are read as
shipped; the validation half breaks copies of tests/data/knowledge/minimal the way
tests/unit/test_knowledge.py does, and expects every problem at once with its dotted path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from packaging.version import Version as V

from cudaenv.errors import KnowledgeError
from cudaenv.knowledge import Knowledge, load, load_from

MINIMAL = Path(__file__).resolve().parents[1] / "data" / "knowledge" / "minimal"


@pytest.fixture(scope="module")
def k() -> Knowledge:
    return load()


# --- PyTorch -----------------------------------------------------------------------------------


def test_every_torch_line_from_21_to_215_is_known(k):
    assert [str(t.line) for t in k.torch] == [f"2.{n}" for n in range(1, 16)]


@pytest.mark.parametrize(
    ("release", "line", "cuda", "cudnn", "driver", "python_in", "python_out"),
    [
        ("2.1.2", "2.1", "12.1", "8.9", "525.60.13", "3.8", "3.12"),
        ("2.3.0", "2.3", "12.1", "8.9", "525.60.13", "3.12", "3.13"),
        ("2.4.1", "2.4", "12.1", "9.1", "525.60.13", "3.8", "3.13"),
        ("2.5.1", "2.5", "12.4", "9.1", "525.60.13", "3.13", "3.8"),
        ("2.7.0", "2.7", "12.6", "9.5", "525.60.13", "3.9", "3.14"),
        ("2.9.1", "2.9", "12.8", "9.10", "525.60.13", "3.14", "3.9"),
        ("2.10.0", "2.10", "12.8", "9.10", "525.60.13", "3.10", "3.15"),
        ("2.11.0", "2.11", "13.0", "9.19", "580.65.06", "3.10", "3.15"),
        ("2.15.0", "2.15", "13.2", "9.26", "580.65.06", "3.15", "3.10"),
    ],
)
def test_torch_lines(k, release, line, cuda, cudnn, driver, python_in, python_out):
    t = k.torch_line(V(release))
    assert t is not None and t.contains(V(release))
    assert (str(t.line), str(t.cuda), str(t.cudnn)) == (line, cuda, cudnn)
    assert t.cuda_major == t.min_cuda.major == V(cuda).major
    assert str(k.min_driver_for(t.min_cuda)) == driver
    assert V(python_in) in t.python and V(python_out) not in t.python


def test_torch_on_pypi_is_cuda_12_up_to_210_and_cuda_13_after(k):
    assert {str(t.line): t.cuda_major for t in k.torch} == {
        **{f"2.{n}": 12 for n in range(1, 11)},
        **{f"2.{n}": 13 for n in range(11, 16)},
    }
    # The aarch64 wheels reach CUDA only once the markers stop naming x86_64 (2.11).
    assert {t.gpu_machines for t in k.torch if t.cuda_major == 12} == {("x86_64",)}
    assert {t.gpu_machines for t in k.torch if t.cuda_major == 13} == {("x86_64", "aarch64")}


def test_torch_cudnn_major_changes_at_24(k):
    majors = {str(t.line): t.cudnn.major for t in k.torch}
    assert [line for line, major in majors.items() if major == 8] == ["2.1", "2.2", "2.3"]


def test_torch_triton_requirements(k):
    assert str(k.torch_line(V("2.7.1")).triton) == "triton==3.3.1"
    t22 = k.torch_line(V("2.2.2")).triton
    assert t22.name == "triton" and not t22.marker.evaluate({"python_version": "3.12"})


def test_torch_lines_a_driver_can_run(k):
    assert [str(t.line) for t in k.torch_lines_for(V("12.4"))] == [f"2.{n}" for n in range(1, 11)]
    assert len(k.torch_lines_for(V("13.0"))) == 15
    assert k.torch_lines_for(V("11.8")) == ()


def test_unknown_torch_and_jax_releases_have_no_line(k):
    assert k.torch_line(V("1.13.1")) is None
    assert k.jax_line(V("0.3.25")) is None


# --- JAX -----------------------------------------------------------------------------------------


def test_every_jax_line_from_04_is_known(k):
    assert [str(j.line) for j in k.jax] == [f"0.{n}" for n in range(4, 13)]


@pytest.mark.parametrize(
    ("release", "majors", "cudnn12", "python_in", "python_out"),
    [
        ("0.4.38", (12,), ">=9.1,<10.0", "3.9", "3.14"),
        ("0.6.2", (12,), ">=9.8,<10.0", "3.10", "3.14"),
        ("0.7.2", (12, 13), ">=9.8,<10.0", "3.14", "3.10"),
        ("0.10.2", (12, 13), ">=9.8,<10.0", "3.11", "3.15"),
        ("0.12.0.1", (12, 13), ">=9.10.2.21,<10.0", "3.15", "3.11"),
    ],
)
def test_jax_lines(k, release, majors, cudnn12, python_in, python_out):
    j = k.jax_line(V(release))
    assert j is not None and j.cuda_majors == majors
    assert j.extra_for(12, V(release)) == "cuda12"
    assert j.cudnn[12] == j.cudnn[12].__class__(cudnn12)
    assert V(python_in) in j.python and V(python_out) not in j.python


def test_jax_extras_install_from_pypi_only_from_their_first_release(k):
    j04, j07 = k.jax_line(V("0.4.30")), k.jax_line(V("0.7.0"))
    assert j04.extra_for(12, V("0.4.21")) is None  # jaxlib+cuda12 local versions: not on PyPI
    assert j04.extra_for(12, V("0.4.22")) is None  # its plugin needs a jax-cuda12-pjrt PyPI lacks
    assert j04.extra_for(12, V("0.4.23")) == "cuda12"
    assert j07.extra_for(13, V("0.7.1")) is None  # no jax-cuda13-plugin 0.7.1 on PyPI
    assert j07.extra_for(13, V("0.7.2")) == j07.extra_for(13) == "cuda13"
    assert j04.extra_for(13) is None
    assert "cuDNN 8.9" in j04.notes[V("0.4.23")]


@pytest.mark.parametrize(
    ("package", "release", "needs"),
    [
        ("jaxlib", "0.4.23", ["numpy<2"]),
        ("jaxlib", "0.4.25", ["numpy<2"]),  # jaxlib 0.4.26: "JAX now supports NumPy 2.0"
        ("jaxlib", "0.4.26", []),
        ("jax-cuda12-plugin", "0.4.23", ["nvidia-cudnn-cu12<9,>=8.9"]),  # built with 8.9.4
        ("jax-cuda12-plugin", "0.4.28", ["nvidia-cudnn-cu12<9,>=8.9"]),  # built with 8.9.6
        ("jax-cuda12-plugin", "0.4.29", ["nvidia-cudnn-cu12<10,>=9.1"]),  # built with 9.1.1
        ("jax-cuda12-plugin", "0.4.31", []),  # declares >=9.1 itself
        ("jax", "0.4.25", []),
        ("jaxlib", "0.7.2", []),
    ],
)
def test_what_old_jax_releases_need_beyond_their_metadata(k, package, release, needs):
    assert [str(r) for r in k.release_needs(package, V(release))] == needs


def test_old_jax_lines_bring_jaxlib_on_the_cpu_through_an_extra(k):
    assert k.jax_line(V("0.4.25")).cpu_extra == "cpu"  # jax < 0.4.30 needs jax[cpu]
    assert k.jax_line(V("0.7.2")).cpu_extra is None  # it depends on jaxlib itself


def test_jax_lines_a_driver_can_run(k):
    assert len(k.jax_lines_for(V("12.2"))) == 9  # every line has a CUDA 12 extra
    assert k.jax_lines_for(V("11.8")) == ()


def test_every_cuda_major_of_torch_and_jax_has_a_driver_floor(k):
    majors = {t.cuda_major for t in k.torch} | {m for j in k.jax for m in j.cuda_majors}
    assert majors == {12, 13}
    assert all(k.min_driver_for(V(f"{m}.0")) is not None for m in majors)


# --- NVIDIA's compatibility rules ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "pinned", "chosen", "rule"),
    [
        # TensorFlow 2.18 and torch 2.7 pin different releases within the same majors.
        ("nvidia-cudnn-cu12", "9.3.0.75", "9.5.1.17", "cudnn-minor-backward"),
        ("nvidia-nvjitlink-cu12", "12.5.82", "12.6.85", "nvjitlink-minor"),
        ("nvidia-cuda-runtime-cu12", "12.5.82", "12.6.77", "cuda-libraries-minor-version"),
        ("nvidia-cublas-cu12", "12.5.3.2", "12.6.4.1", "cuda-libraries-minor-version"),
        ("nvidia-cusparse-cu12", "12.5.1.3", "12.5.4.2", "cuda-libraries-minor-version"),
        ("nvidia-nccl-cu12", "2.21.5", "2.26.2", "nccl-major"),
        ("Nvidia_CuDNN_cu12", "9.3.0.75", "9.3.0.75", "cudnn-minor-backward"),
        ("nvidia-cublas", "13.1.0.3", "13.4.1.3", "cuda-libraries-minor-version"),
        # Across a major, downwards, or for a library no rule speaks about: never.
        ("nvidia-cudnn-cu12", "8.9.4.25", "9.1.0.70", None),
        ("nvidia-cudnn-cu12", "9.5.1.17", "9.3.0.75", None),
        ("nvidia-cufft-cu12", "11.3.0.4", "12.0.0.61", None),
        ("nvidia-cusparselt-cu12", "0.6.2", "0.6.3", None),
        ("nvidia-cublasmp-cu12", "0.2.1", "0.3.0", None),
    ],
)
def test_relaxing_rule(k, name, pinned, chosen, rule):
    got = k.relaxing_rule(name, V(pinned), V(chosen))
    assert (got.id if got else None) == rule
    if got is not None:
        assert got.effect == "relax" and got.source.startswith("https://")


def test_caveats_follow_the_libraries_whose_documents_state_limits(k):
    assert [r.id for r in k.caveats_for("nvidia-curand-cu12")] == ["curand-binary-not-guaranteed"]
    assert [r.id for r in k.caveats_for("nvidia-cusparse")] == ["cusparse-binary-not-guaranteed"]
    assert [r.id for r in k.caveats_for("nvidia-cudnn-cu12")] == ["cudnn-needs-cublas"]
    assert {r.id for r in k.caveats_for("nvidia-cuda-nvcc-cu12")} == {
        "minor-version-compatibility-limits"
    }
    assert k.caveats_for("nvidia-cusparselt-cu12") == ()


def test_the_floor_rule_covers_the_runtime(k):
    assert [r.id for r in k.rules_for("nvidia-cuda-runtime-cu12") if r.effect == "floor"] == [
        "minor-version-compatibility-floor"
    ]


def test_rules_name_primary_sources(k):
    assert len(k.compat_rules) == len({r.id for r in k.compat_rules})
    nvidia = {r.id for r in k.compat_rules if r.source.startswith("https://docs.nvidia.com/")}
    assert {r.id for r in k.compat_rules} - nvidia == {"nccl-major"}


# --- validation --------------------------------------------------------------------------------


def broken(tmp_path: Path, *edits: tuple[str, str, str]) -> list[str]:
    """Copy the fixture, apply (file, old, new) edits, load, and return the reported problems."""
    root = tmp_path / "kb"
    shutil.copytree(MINIMAL, root)
    for name, old, new in edits:
        path = next(root.rglob(name))
        text = path.read_text()
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1))
    with pytest.raises(KnowledgeError) as info:
        load_from(root / "recipes", root / "constraints")
    return info.value.context.splitlines()


def test_fixture_has_torch_jax_and_rules():
    k = load_from(MINIMAL / "recipes", MINIMAL / "constraints")
    assert [str(t.line) for t in k.torch] == ["2.3", "2.7"]
    assert [str(j.line) for j in k.jax] == ["0.4", "0.7"]
    assert [r.id for r in k.compat_rules] == [
        "cudnn-minor-backward",
        "curand-binary-not-guaranteed",
    ]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("torch.toml", 'cudnn = "9.5"', 'cudnn = "9.5.1.17"'),
         ['torch.toml: lines."2.7".cudnn: not major.minor (like 12.6), got 9.5.1.17']),
        (("torch.toml", 'min_cuda = "12.0"', 'min_cuda = "13.0"'),
         ['torch.toml: lines."2.3".min_cuda: must be in CUDA 12.x and not above cuda 12.1']),
        (("torch.toml", 'triton = "triton==3.3.1"', 'triton = "tritonn==3.3.1"'),
         ["torch.toml: lines.\"2.7\".triton: not a requirement on triton ('tritonn==3.3.1')"]),
        (("torch.toml", 'triton = "triton==3.3.1"', 'triton = "triton=3.3.1"'),
         ["torch.toml: lines.\"2.7\".triton: not a requirement ('triton=3.3.1')"]),
        (("torch.toml", 'gpu_machines = ["x86_64"]', 'gpu_machines = ["amd64"]'),
         ["torch.toml: lines.\"2.3\".gpu_machines: not one of aarch64, x86_64 ('amd64')"]),
        (("torch.toml", '[lines."2.7"]', '[lines."2.7.1"]'),
         ['torch.toml: lines."2.7.1": line key is not a major.minor version']),
        (("torch.toml", 'source = "PyPI metadata of torch==2.7.1"', 'wheels = []'),
         ['torch.toml: lines."2.7".wheels: unknown field',
          'torch.toml: lines."2.7".source: missing']),
        (("torch.toml", 'cuda = "12.6"', 'cuda = "13.0"'),
         ['torch.toml: lines."2.7".min_cuda: must be in CUDA 13.x and not above cuda 13.0']),
        (("jax.toml", 'extras = { 12 = "cuda12" }', 'extras = { twelve = "cuda12" }'),
         ['jax.toml: lines."0.4".extras.twelve: not a CUDA major (like 12)',
          'jax.toml: lines."0.4".since.12: CUDA 12 has no entry in extras',
          'jax.toml: lines."0.4".cudnn.12: CUDA 12 has no entry in extras']),
        (("jax.toml", 'since = { 12 = "0.4.22" }', 'since = { 12 = "0.5.0" }'),
         ['jax.toml: lines."0.4".since.12: release 0.5.0 is not in line 0.4']),
        (("jax.toml", 'cudnn = { 12 = ">=9.8,<10.0" }', 'cudnn = { 13 = ">=9.8,<10.0" }'),
         ['jax.toml: lines."0.7".cudnn.13: CUDA 13 has no entry in extras',
          'jax.toml: lines."0.7".cudnn: CUDA 12 is in extras but has no cuDNN range']),
        (("jax.toml", 'cudnn = { 12 = ">=9.8,<10.0" }', 'cudnn = { 12 = "9.8" }'),
         ["jax.toml: lines.\"0.7\".cudnn.12: not a version specifier ('9.8')",
          'jax.toml: lines."0.7".cudnn: CUDA 12 is in extras but has no cuDNN range']),
        (("jax.toml", 'extras = { 12 = "cuda12" }\ncudnn', 'extras = {}\ncudnn'),
         ['jax.toml: lines."0.7".extras: empty',
          'jax.toml: lines."0.7".cudnn.12: CUDA 12 has no entry in extras']),
        (("jax.toml", '[lines."0.7"]', '[[lines."0.4".needs]]\npackage = "JaxLib"\n'
          'versions = "<0.4.26"\nrequirements = ["numpy<<2"]\nsource = "https://x"\n\n'
          '[lines."0.7"]'),
         ["jax.toml: lines.\"0.4\".needs[0].requirements: not a requirement ('numpy<<2')",
          'jax.toml: lines."0.4".needs[0].package: not a normalized package name (write jaxlib)']),
        (("jax.toml", '[lines."0.7"]', '[[lines."0.4".needs]]\npackage = "jaxlib"\n'
          'version = "<0.4.26"\nrequirements = ["numpy<2"]\n\n[lines."0.7"]'),
         ['jax.toml: lines."0.4".needs[0].version: unknown field',
          'jax.toml: lines."0.4".needs[0].versions: missing',
          'jax.toml: lines."0.4".needs[0].source: missing']),
        (("compat_rules.toml", 'effect = "relax"', 'effect = "loosen"'),
         ["compat_rules.toml: rule[0].effect: not one of caveat, floor, relax ('loosen')"]),
        (("compat_rules.toml", 'scope = "same-major"', 'scope = "any"'),
         ["compat_rules.toml: rule[0].scope: not one of same-major ('any')"]),
        (("compat_rules.toml", 'packages = ["nvidia-cudnn-cu*"]', 'packages = ["NVIDIA_cudnn"]'),
         ["compat_rules.toml: rule[0].packages: not a normalized name pattern ('NVIDIA_cudnn')"]),
        (("compat_rules.toml", 'packages = ["nvidia-cudnn-cu*"]', "packages = []"),
         ["compat_rules.toml: rule[0].packages: empty"]),
        (("compat_rules.toml", 'id = "cudnn-minor-backward"', 'id = "cuDNN rule"'),
         ["compat_rules.toml: rule[0].id: not a kebab-case name ('cuDNN rule')"]),
        (("compat_rules.toml", 'id = "curand-binary-not-guaranteed"',
          'id = "cudnn-minor-backward"'),
         ["compat_rules.toml: rule: id 'cudnn-minor-backward' appears more than once"]),
        (("compat_rules.toml", "[[rule]]", "[[rules]]"),  # the first of two
         ["compat_rules.toml: rules: unknown field"]),
    ],
)  # fmt: skip
def test_each_kind_of_invalid_row(tmp_path, edit, expected):
    assert broken(tmp_path, edit) == expected


def test_a_cuda_major_without_a_driver_floor_is_refused(tmp_path):
    problems = broken(
        tmp_path,
        ("torch.toml", 'cuda = "12.6"', 'cuda = "13.0"'),
        (
            "torch.toml",
            'min_cuda = "12.0"\ntriton = "triton',
            'min_cuda = "13.0"\ntriton = "triton',
        ),
    )
    assert problems == [
        'torch.toml: lines."2.7": CUDA 13 has no minor_version_compat row in cuda_driver.toml'
    ]


def test_problems_in_the_new_files_come_with_the_others(tmp_path):
    problems = broken(
        tmp_path,
        ("tensorflow.toml", 'cudnn = "8.9"', 'cudnn = "8.x"'),
        ("torch.toml", 'python = ">=3.9,<3.14"', 'python = "3.9+"'),
        ("jax.toml", 'source = "PyPI metadata of jax-cuda12-plugin==0.7.2"', 'source = "PyPI"'),
        ("compat_rules.toml", 'effect = "caveat"', "effect = 1"),
    )
    assert problems == [
        "tensorflow.toml: lines.\"2.15\".cudnn: not a version ('8.x')",
        "torch.toml: lines.\"2.7\".python: not a version specifier ('3.9+')",
        'jax.toml: lines."0.7".source: '
        "not an https:// URL or 'PyPI metadata of NAME==VERSION' ('PyPI')",
        "compat_rules.toml: rule[1].effect: not a string",
    ]


@pytest.mark.parametrize(
    ("name", "version"),
    [("jax", "0.4.8"), ("jax", "0.3.25"), ("torch", "1.13.1")],
)
def test_a_framework_only_required_by_another_is_not_held_to_its_recipe(name, version):
    """TensorFlow 2.12 requires ``jax>=0.3.15`` (pure Python, no jaxlib): with only --tf asked,
    a JAX or PyTorch release the recipes do not know stays available; asked for, it is refused."""
    from packaging.utils import canonicalize_name

    from cudaenv.request import Request
    from cudaenv.solver.rules import recipes

    know = load()
    plain = Request.from_args(tf="2.12", spacy=None, python="3.11", platform=None)
    asked = Request.from_args(
        tf="2.12", spacy=None, python="3.11", platform=None, **{name: version}
    )
    project = canonicalize_name(name)
    assert recipes.refused(know, plain, project, V(version), 11) is None
    assert recipes.refused(know, asked, project, V(version), 11)


def test_a_torch_line_of_another_cuda_major_stays_refused_as_a_dependency():
    """One CUDA major per environment holds whoever brings PyTorch in."""
    from cudaenv.request import Request
    from cudaenv.solver.rules import recipes

    know = load()
    line = next(t for t in know.torch if t.cuda_major == 12)
    version = V(f"{line.line}.0")
    plain = Request.from_args(tf="2.12", spacy=None, python="3.11", platform=None)
    assert recipes.refused(know, plain, "torch", version, 11)
