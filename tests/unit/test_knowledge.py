"""The knowledge base: the real data answers the questions others ask, and bad data is refused.

The first half reads the shipped recipes/ and constraints/; the second half copies the small
fixture under tests/data/knowledge/minimal to tmp_path, breaks it, and checks that every problem
is reported at once with its file and dotted path.
"""

from __future__ import annotations

import doctest
import shutil
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version as V

import cudaenv.knowledge as knowledge_pkg
from cudaenv.driver import DriverVersion
from cudaenv.errors import KnowledgeError
from cudaenv.knowledge import Knowledge, load, load_from

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = Path(__file__).resolve().parents[1] / "data" / "knowledge" / "minimal"

CU11_SET = {
    "nvidia-cuda-runtime-cu11==11.8.89",
    "nvidia-cublas-cu11==11.11.3.6",
    "nvidia-cufft-cu11==10.9.0.58",
    "nvidia-curand-cu11==10.3.0.86",
    "nvidia-cusolver-cu11==11.4.1.48",
    "nvidia-cusparse-cu11==11.7.5.86",
    "nvidia-cuda-cupti-cu11==11.8.87",
    "nvidia-cuda-nvcc-cu11==11.8.89",
    "nvidia-cudnn-cu11==8.6.0.163",
}


@pytest.fixture(scope="module")
def k() -> Knowledge:
    return load()


# --- the real data ---------------------------------------------------------------------------


def test_real_data_loads_from_the_source_checkout(k):
    assert knowledge_pkg.data_dirs() == (ROOT / "recipes", ROOT / "constraints")
    assert k.version == "2026.11.25"
    assert [str(t.line) for t in k.tensorflow] == [f"2.{n}" for n in range(12, 23)]
    assert [str(s.line) for s in k.spacy] == ["3.5", "3.6", "3.7", "3.8"]
    assert [c.name for c in k.cupy] == ["cupy-cuda11x", "cupy-cuda12x", "cupy-cuda13x"]


def test_load_is_cached_and_hashable(k):
    assert load() is k
    assert hash(k) == hash(load_from(ROOT / "recipes", ROOT / "constraints"))


@pytest.mark.parametrize(
    ("release", "line", "cuda", "cudnn", "extra", "min_driver"),
    [
        ("2.12.0", "2.12", "11.8", "8.6", None, "450.80.02"),
        ("2.13.1", "2.13", "11.8", "8.6", None, "450.80.02"),
        ("2.14.1", "2.14", "11.8", "8.7", "and-cuda", "450.80.02"),
        ("2.15.0.post1", "2.15", "12.2", "8.9", "and-cuda", "525.60.13"),
        ("2.15.1", "2.15", "12.2", "8.9", "and-cuda", "525.60.13"),
        ("2.16.2", "2.16", "12.3", "8.9", "and-cuda", "525.60.13"),
        ("2.18.0", "2.18", "12.5", "9.3", "and-cuda", "525.60.13"),
        ("2.21.0", "2.21", "12.5", "9.3", "and-cuda", "525.60.13"),
        ("2.22.0rc0", "2.22", "12.5", "9.10", "and-cuda", "525.60.13"),
    ],
)
def test_tf_lines_answer_the_acceptance_questions(k, release, line, cuda, cudnn, extra, min_driver):
    t = k.tf_line(V(release))
    assert t is not None and t.contains(V(release))
    assert (str(t.line), str(t.cuda), str(t.cudnn), t.extra) == (line, cuda, cudnn, extra)
    assert t.cuda_major == V(cuda).major == t.min_cuda.major
    assert str(k.min_driver_for(t.min_cuda)) == min_driver
    assert t.pre_release_only == (line == "2.22")


def test_unknown_tf_and_spacy_releases_have_no_line(k):
    assert k.tf_line(V("2.11.0")) is None
    assert k.tf_line(V("3.0")) is None
    assert k.spacy_line(V("3.4.4")) is None


def test_tf_212_adds_the_cu11_wheel_set_and_sets_xla_flags(k):
    t = k.tf_line(V("2.12.1"))
    assert {str(r) for r in t.requirements} == CU11_SET
    assert t.wheels == t.requirements  # no extra: the wheels are the ones cudaenv adds
    assert t.env["XLA_FLAGS"] == "--xla_gpu_cuda_data_dir={site}/nvidia/cuda_nvcc"
    assert t.path == ("{site}/nvidia/cuda_nvcc/bin",)
    assert "libcudnn.so.8" in t.sonames and "libcudart.so.11.0" in t.sonames


def test_and_cuda_lines_name_their_wheels_and_need_no_extra_requirements(k):
    for t in k.tensorflow:
        if t.extra is None:
            continue
        assert t.requirements == ()
        assert any(w.name == f"nvidia-cudnn-cu{t.cuda_major}" for w in t.wheels), t.line
        assert f"libcudnn.so.{t.cudnn.major}" in t.sonames, t.line
        assert f"libcublas.so.{t.cuda_major}" in t.sonames, t.line


def test_tf_215_wheels_are_the_post1_pins(k):
    wheels = {w.name: w for w in k.tf_line(V("2.15")).wheels}
    assert str(wheels["nvidia-cudnn-cu12"].specifier) == "==8.9.4.25"
    assert not any(name.startswith("tensorrt") for name in wheels)


def test_tensorrt_is_optional_not_bad(k):
    """TF 2.14 and 2.15.0 pin TensorRT wheels that do not exist for the target: TensorRT is
    optional (only TF-TRT needs it), so those releases are not refused."""
    t215, t214 = k.tf_line(V("2.15")), k.tf_line(V("2.14"))
    assert t215.bad_reason(V("2.15.0")) is None
    assert t214.bad_reason(V("2.14.0"), V("3.11")) is None
    part = k.optional_part("tensorrt-libs")
    assert part is not None and part.packages == {"tensorrt", "tensorrt-libs", "tensorrt-bindings"}
    assert part.feature.startswith("TF-TRT") and part.source.startswith("https://")
    assert k.optional_part("nvidia-cudnn-cu12") is None
    assert t214.constraints == (Requirement("numpy<2"),)
    assert "LD_LIBRARY_PATH" in k.tf_line(V("2.16")).notes[V("2.16.1")]
    assert k.tf_line(V("2.16")).bad == {}


def test_spacy_lines(k):
    s = k.spacy_line(V("3.7.5"))
    assert dict(s.gpu_extras) == {11: "cuda11x", 12: "cuda12x"}
    assert s.thinc.contains("8.2.5") and not s.thinc.contains("8.3.0")
    assert dict(k.spacy_line(V("3.5.4")).gpu_extras) == {11: "cuda11x"}
    for s in k.spacy:
        needs_cap = s.line < V("3.8")
        assert (Requirement("numpy<2") in s.constraints) == needs_cap, s.line


def test_cupy_lines(k):
    c12 = k.cupy_for(12)
    assert c12.name == "cupy-cuda12x" and c12.versions.contains("12.3.0")
    names = {r.name for r in c12.runtime_wheels}
    libs = ("cuda-runtime", "cuda-nvrtc", "cublas", "curand", "cusolver", "cusparse", "cufft")
    assert names == {f"nvidia-{n}-cu12" for n in libs}
    assert "libnvrtc.so.12" in c12.sonames
    assert c12.numpy_for(V("14.2.0")).contains("2.1.0")
    assert not c12.numpy_for(V("12.3.0")).contains("2.0.0")
    assert k.cupy_for(11).name == "cupy-cuda11x"
    assert k.cupy_for(10) is None
    for c in k.cupy:  # CUDA 11/12 wheels carry a -cuNN suffix; CUDA 13's carry none
        suffix = f"-cu{c.cuda_major}" if c.cuda_major < 13 else ""
        assert all(r.name.endswith(suffix) for r in c.runtime_wheels), c.name
        assert c.name == f"cupy-cuda{c.cuda_major}x"
        assert f"libnvrtc.so.{c.cuda_major}" in " ".join(c.sonames), c.name


def test_module_docstring_example_runs():
    result = doctest.testmod(knowledge_pkg)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    ("driver", "max_cuda"),
    [
        ("535.104.05", "12.2"),
        ("470.82.01", "11.4"),
        ("550.54.15", "12.4"),
        ("550.54.14", "12.4"),
        ("550.54.13", "12.3"),
        ("450.80.02", "11.0"),
        ("525.60.13", "12.0"),
        ("570.26", "12.8"),
        ("580.65.06", "13.0"),
        ("595.71.05", "13.2"),  # 13.2 Update 2
        ("610.43.02", "13.3"),  # the R610 driver CUDA 13.3 ships with
        ("610.43.01", "13.2"),
        ("999.1", "13.3"),  # 13.4 and 13.5 are floor-only rows: they never raise max CUDA
        ("440.33", None),
    ],
)
def test_max_cuda_for_driver(k, driver, max_cuda):
    got = k.max_cuda_for_driver(DriverVersion.parse(driver))
    assert (str(got) if got else None) == max_cuda


@pytest.mark.parametrize(
    ("cuda", "floor"),
    [
        ("12.2", "525.60.13"),
        ("12.2.2", "525.60.13"),
        ("11.8", "450.80.02"),
        ("11.2", "450.80.02"),
        ("13.0", "580.65.06"),
        ("12.7", "525.60.13"),
        ("10.2", None),
    ],
)
def test_driver_floors(k, cuda, floor):
    got = k.min_driver_for(V(cuda))
    assert (str(got) if got else None) == floor


@pytest.mark.parametrize(
    ("cuda", "ga_driver", "below"),
    [
        ("12.2", "535.54.03", "12.1"),
        ("11.8", "520.61.05", "11.7"),
        ("11.2", "460.27.03", "11.1"),
        ("13.0", "580.65.06", "12.9"),
        ("13.3", "610.43.02", "13.2"),
    ],
)
def test_a_toolkit_release_driver_runs_exactly_its_cuda(k, cuda, ga_driver, below):
    """NVIDIA's toolkit table, as detection reads it: the GA release's driver runs that CUDA,
    a driver just below it only the CUDA before."""
    ga = DriverVersion.parse(ga_driver)
    assert k.max_cuda_for_driver(ga) == V(cuda)
    older = ".".join(str(n) for n in (*ga.numbers[:-1], ga.numbers[-1] - 1))
    assert k.max_cuda_for_driver(DriverVersion.parse(older)) == V(below)


@pytest.mark.parametrize(
    ("max_cuda", "lines", "newest"),
    [
        ("11.4", ["2.12", "2.13", "2.14"], "2.14"),
        ("12.0", [f"2.{n}" for n in range(12, 23)], "2.21"),
        ("10.2", [], None),
    ],
)
def test_tf_lines_a_driver_can_run(k, max_cuda, lines, newest):
    assert [str(t.line) for t in k.tf_lines_for(V(max_cuda))] == lines
    got = k.newest_tf_line_for(V(max_cuda))
    assert (str(got.line) if got else None) == newest


def test_driver_table_is_consistent(k):
    table = (ROOT / "constraints" / "cuda_driver.toml").read_text()
    for row in [*k.toolkit, *k.floors]:  # each driver prints as the table writes it
        assert f'driver = "{row.driver}"' in table, row
    for row in k.toolkit:
        assert k.max_cuda_for_driver(row.driver) >= row.cuda, row.release
    for t in k.tensorflow:
        assert any(row.cuda == V(f"{t.cuda.major}.{t.cuda.minor}") for row in k.toolkit), t.line
        assert k.min_driver_for(t.min_cuda) is not None, t.line
    assert all(k.min_driver_for(V(f"{c.cuda_major}.0")) for c in k.cupy)


def test_releases_with_only_their_majors_floor(k):
    """CUDA 13.4 and 13.5 have no driver in the NVIDIA sources read: their rows say so, name no
    driver of their own, and leave the toolkit table (and so max CUDA) at 13.3."""
    assert [(str(f.cuda), f.release) for f in k.floor_only] == [
        ("13.4", "13.4 GA"),
        ("13.4", "13.4 Update 1"),
        ("13.5", "13.5 GA"),
    ]
    for row in k.floor_only:
        assert "only the CUDA 13 floor is sourced" in row.note, row
        assert row.source.startswith("https://"), row
        assert k.toolkit_driver(row.cuda) is None and k.floor_only_for(row.cuda) is not None
    assert k.newest_toolkit_cuda(13) == V("13.3") and k.newest_toolkit_cuda(12) == V("12.9")
    assert k.floor_only_for(V("13.5.37")).release == "13.5 GA"
    assert k.floor_only_for(V("13.3.29")) is None


def test_exclusions(k):
    assert "multiprocessing" in k.excluded("SpaCy", V("3.7.3"))
    assert k.excluded("spacy", V("3.7.5")) is None
    assert k.excluded("cupy_cuda12x", V("13.5.0")) is not None
    assert k.excluded("tensorflow", V("2.15.0")) is None  # that one is the TF line's `bad`


def test_every_row_has_a_source(k):
    rows = [*k.tensorflow, *k.spacy, *k.cupy, *k.toolkit, *k.floors, *k.exclusions]
    rows += [*k.torch, *k.jax, *k.compat_rules]
    rows += [b for t in k.tensorflow for b in t.known_bad]
    for row in rows:
        assert row.source.startswith(("https://", "PyPI metadata of ")), row


# --- where the data is found -----------------------------------------------------------------


def test_packaged_data_wins_over_the_checkout(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "cudaenv"
    (pkg / "data" / "recipes").mkdir(parents=True)
    monkeypatch.setattr(knowledge_pkg, "_PACKAGE", pkg)
    assert knowledge_pkg.data_dirs() == (pkg / "data" / "recipes", pkg / "data" / "constraints")


def test_missing_data_is_a_knowledge_error(tmp_path, monkeypatch):
    monkeypatch.setattr(knowledge_pkg, "_PACKAGE", tmp_path / "a" / "b" / "cudaenv")
    with pytest.raises(KnowledgeError, match="missing from the installation"):
        knowledge_pkg.data_dirs()


# --- validation ------------------------------------------------------------------------------


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
    err = info.value
    problems = err.context.splitlines()
    n = len(problems)
    noun = "entry" if n == 1 else "entries"
    assert err.message == f"cudaenv's knowledge base has {n} invalid {noun}"
    assert err.hint
    return problems


def test_fixture_is_valid():
    k = load_from(MINIMAL / "recipes", MINIMAL / "constraints")
    assert [str(t.line) for t in k.tensorflow] == ["2.12", "2.15"]


def test_not_a_version_names_file_and_dotted_path(tmp_path):
    problems = broken(tmp_path, ("tensorflow.toml", 'cudnn = "8.9"', 'cudnn = "8.x"'))
    assert problems == ["tensorflow.toml: lines.\"2.15\".cudnn: not a version ('8.x')"]


def test_missing_source_is_an_error(tmp_path):
    problems = broken(tmp_path, ("spacy.toml", 'source = "PyPI metadata of spacy==3.7.5"', ""))
    assert problems == ['spacy.toml: lines."3.7".source: missing']


def test_source_must_be_a_url_or_pypi_metadata(tmp_path):
    problems = broken(
        tmp_path,
        ("exclusions.toml", 'source = "https://pypi.org/project/spacy/3.7.3/"', 'source = "PyPI"'),
    )
    assert problems == [
        "exclusions.toml: exclude[0].source: "
        "not an https:// URL or 'PyPI metadata of NAME==VERSION' ('PyPI')"
    ]


def test_every_problem_in_every_file_is_collected_at_once(tmp_path):
    problems = broken(
        tmp_path,
        ("tensorflow.toml", 'cudnn = "8.6"', 'cudnn = "eight"'),
        ("tensorflow.toml", 'python = ">=3.9,<3.12"', 'python = ">=3.9,<<3.12"'),
        ("spacy.toml", 'thinc = ">=8.1.8,<8.3.0"', "thinc = 8"),
        ("cupy.toml", "cuda_major = 12", 'cuda_major = "12"'),
        ("cuda_driver.toml", 'driver = "535.54.03"', 'driver = "535.x.03"'),
        ("exclusions.toml", 'versions = "==3.7.3"', 'versions = "3.7.3"'),
    )
    assert problems == [
        "tensorflow.toml: lines.\"2.12\".cudnn: not a version ('eight')",
        "tensorflow.toml: lines.\"2.15\".python: not a version specifier ('>=3.9,<<3.12')",
        'spacy.toml: lines."3.7".thinc: not a string',
        "cupy.toml: lines.cupy-cuda12x.cuda_major: not an integer",
        "cuda_driver.toml: toolkit[1].driver: not an NVIDIA driver version ('535.x.03')",
        "exclusions.toml: exclude[0].versions: not a version specifier ('3.7.3')",
    ]


def test_toml_syntax_error_names_file_and_line(tmp_path):
    problems = broken(tmp_path, ("spacy.toml", 'thinc = ">=8.1.8,<8.3.0"', "thinc = >=8"))
    assert len(problems) == 1
    assert problems[0].startswith("spacy.toml: line 5: invalid TOML: ")


def test_missing_file(tmp_path):
    root = tmp_path / "kb"
    shutil.copytree(MINIMAL, root)
    (root / "recipes" / "cupy.toml").unlink()
    with pytest.raises(KnowledgeError) as info:
        load_from(root / "recipes", root / "constraints")
    assert info.value.context == f"cupy.toml: missing (looked for {root / 'recipes' / 'cupy.toml'})"


def test_other_files_in_the_folders_are_ignored(tmp_path):
    root = tmp_path / "kb"
    shutil.copytree(MINIMAL, root)
    (root / "recipes" / "log_lines.toml").write_text("[whatever]\nx = 1\n")
    assert load_from(root / "recipes", root / "constraints").version == "2026.11.25"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("tensorflow.toml", 'cudnn = "8.9"', 'cudnnn = "8.9"'),
         ['tensorflow.toml: lines."2.15".cudnnn: unknown field',
          'tensorflow.toml: lines."2.15".cudnn: missing']),
        (("tensorflow.toml", "{site}/nvidia/cuda_nvcc/bin", "{home}/bin"),
         ['tensorflow.toml: lines."2.12".path[0]: unknown placeholder {home} '
          "(use {site} or {prefix})"]),
        (("tensorflow.toml", "={site}/nvidia/cuda_nvcc", "={site/nvidia"),
         ["tensorflow.toml: lines.\"2.12\".env.XLA_FLAGS: not a template "
          "(expected '}' before end of string)"]),
        (("tensorflow.toml", 'bad."2.15.0"', 'bad."2.16.0"'),
         ['tensorflow.toml: lines."2.15".bad."2.16.0": release is not in line 2.15']),
        (("tensorflow.toml", 'bad."2.15.0"', 'bad."two"'),
         ['tensorflow.toml: lines."2.15".bad.two: not a version']),
        (("tensorflow.toml", 'python = ">=3.11"', 'python = ">=3.11"\nwhen = "always"'),
         ['tensorflow.toml: lines."2.15".bad."2.15.1".when: unknown field']),
        (("tensorflow.toml", 'min_cuda = "12.0"', 'min_cuda = "11.0"'),
         ['tensorflow.toml: lines."2.15".min_cuda: must be in CUDA 12.x and not above cuda 12.2']),
        (("tensorflow.toml", 'wheels = ["nvidia-cuda-runtime-cu12==12.2.140", '
                             '"nvidia-cudnn-cu12==8.9.4.25"]', ""),
         ['tensorflow.toml: lines."2.15".wheels: missing']),
        (("tensorflow.toml", 'constraints = ["numpy<2"]', 'constraints = ["numpy<<2"]'),
         ["tensorflow.toml: lines.\"2.15\".constraints: not a requirement ('numpy<<2')"]),
        (("tensorflow.toml", 'sonames = ["libcudart.so.12", "libcudnn.so.8"]', 'sonames = [""]'),
         ['tensorflow.toml: lines."2.15".sonames: item 0 is not a non-empty string']),
        (("tensorflow.toml", '"tensorrt-libs"]', '"TensorRT_Libs"]\nwhat = 1'),
         ["tensorflow.toml: optional.tensorrt.what: unknown field",
          "tensorflow.toml: optional.tensorrt.packages: 'TensorRT_Libs' is not a normalized "
          "package name"]),
        (("tensorflow.toml", 'feature = "TF-TRT"\n', ""),
         ["tensorflow.toml: optional.tensorrt.feature: missing"]),
        (("spacy.toml", '[lines."3.7"]', '[lines."3.7.5"]'),
         ['spacy.toml: lines."3.7.5": line key is not a major.minor version']),
        (("spacy.toml", "11 = ", "eleven = "),
         ['spacy.toml: lines."3.7".gpu_extras.eleven: not a CUDA major (like 12)']),
        (("cupy.toml", "[lines.cupy-cuda12x]", "[lines.CuPy_CUDA12x]"),
         ["cupy.toml: lines.CuPy_CUDA12x: package name is not normalized (write cupy-cuda12x)"]),
        (("cupy.toml", '{ versions = ">=14.0.0", numpy = ">=2.0,<2.6" }',
          '{ versions = ">=14.0.0", numpy = "2" }'),
         ["cupy.toml: lines.cupy-cuda12x.numpy[1].numpy: not a version specifier ('2')"]),
        (("cuda_driver.toml", 'cuda = "12.2"', 'cuda = "12"'),
         ["cuda_driver.toml: toolkit[1].cuda: not major.minor (like 12.2)"]),
        (("cuda_driver.toml", "[[minor_version_compat]]",
          '[[floor_only]]\ncuda = "13"\nrelease = "13.5 GA"\nsource = "https://x"\n\n'
          "[[minor_version_compat]]"),
         ["cuda_driver.toml: floor_only[0].note: missing",
          "cuda_driver.toml: floor_only[0].cuda: not major.minor (like 13.5)"]),
        (("cuda_driver.toml", "cuda_major = 12", "cuda_major = 11"),
         ["cuda_driver.toml: minor_version_compat: CUDA major 11 appears more than once",
          'jax.toml: lines."0.7": CUDA 12 has no minor_version_compat row in cuda_driver.toml']),
        (("exclusions.toml", 'version = "2026.11.25"', 'version = "2026.12.01"'),
         ["meta.version: the files disagree (tensorflow.toml has 2026.11.25, spacy.toml has "
          "2026.11.25, cupy.toml has 2026.11.25, torch.toml has 2026.11.25, jax.toml has "
          "2026.11.25, cuda_driver.toml has 2026.11.25, exclusions.toml has 2026.12.01, "
          "compat_rules.toml has 2026.11.25); give them one version"]),
        (("spacy.toml", "[meta]", "[metadata]"),
         ["spacy.toml: metadata: unknown field", "spacy.toml: meta: missing"]),
        (("exclusions.toml", "[[exclude]]", "[[excludes]]"),
         ["exclusions.toml: excludes: unknown field", "exclusions.toml: exclude: missing"]),
    ],
)  # fmt: skip
def test_each_kind_of_invalid_row(tmp_path, edit, expected):
    assert broken(tmp_path, edit) == expected


def test_spacy_lines_require_click_that_new_typer_no_longer_brings() -> None:
    # spacy/cli/_util.py imports click; typer 0.29 dropped its click dependency.
    k = load()
    for line in k.spacy:
        assert "click" in {r.name for r in line.requirements}, line.line


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ("<3.12,>=3.9", ">=3.9,<3.12"),
        ("<3.16,>=3.10", ">=3.10,<3.16"),  # by version: 3.10 is not before 3.9 as text
        ("!=3.10.*,<3.13,>=3.7,!=3.9.*", ">=3.7,!=3.9.*,!=3.10.*,<3.13"),
        ("==3.11.*", "==3.11.*"),
        ("", ""),
    ],
)
def test_spec_text_writes_ranges_as_people_do(spec, text):
    """One spelling for matrix rows and solver explanations."""
    from packaging.specifiers import SpecifierSet

    from cudaenv.knowledge import spec_text

    assert spec_text(SpecifierSet(spec)) == text


def test_newest_tf_line_for_a_driver_and_a_python(k):
    def newest(cuda, python=None, releases=()):
        line = k.newest_tf_line_for(
            None if cuda is None else V(cuda),
            None if python is None else V(python),
            [V(r) for r in releases],
        )
        return None if line is None else str(line.line)

    assert newest("11.4") == "2.14" and newest("12.0") == "2.21"  # 2.22: pre-releases only
    assert newest("12.4", "3.13") == "2.21" and newest("12.4", "3.8") == "2.13"
    assert newest("10.2") is None and newest(None, "3.9") == "2.20"
    # 2.14's and-cuda pins tensorrt 8.5.3.1 (no cp311 wheel), but TensorRT is optional
    assert newest("11.4", "3.11", ["2.13.1", "2.14.0", "2.14.1"]) == "2.14"
    assert newest("11.4", "3.11", ["2.13.1", "2.14.0rc1"]) == "2.13"  # no final 2.14 listed
    assert newest("11.4", "3.10", ["2.13.1", "2.14.0", "2.14.1"]) == "2.14"
