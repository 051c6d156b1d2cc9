"""``cudaenv matrix`` through the CLI: text, JSON, filters and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from packaging.version import Version as V

import cudaenv.knowledge as knowledge_pkg
from cudaenv.knowledge import load, spec_text

MINIMAL = Path(__file__).resolve().parents[1] / "data" / "knowledge" / "minimal"
TF_KEYS = {"version", "cuda", "cudnn", "python", "min_driver", "wheels"}
SPACY_KEYS = {"version", "thinc", "gpu_extras", "python"}


def row_of(out: str, first_cell: str, table: str | None = None) -> list[str]:
    """The cells of the table row that starts with ``first_cell`` (in the table whose header
    starts with ``table``, where lines of two frameworks share a number: TF and torch 2.15)."""
    lines = out.splitlines()
    if table is not None:
        start = next(n for n, line in enumerate(lines) if line.split()[:1] == [table])
        end = next((n for n in range(start, len(lines)) if not lines[n].strip()), len(lines))
        lines = lines[start:end]
    rows = [line.split() for line in lines if line.split()[:1] == [first_cell]]
    assert len(rows) == 1, out
    return rows[0]


@pytest.mark.parametrize(
    ("asked", "line", "cuda", "cudnn", "driver"),
    [
        ("2.15", "2.15", "12.2", "8.9", "525.60.13"),
        ("2.15.1", "2.15", "12.2", "8.9", "525.60.13"),
        ("2.12", "2.12", "11.8", "8.6", "450.80.02"),
    ],
)
def test_text_for_one_tf_line(cli, asked, line, cuda, cudnn, driver):
    r = cli("matrix", "--tf", asked)
    assert r.code == 0, r.err
    assert row_of(r.out, line)[:3] == [line, cuda, cudnn]
    assert driver in row_of(r.out, line)
    assert f"TensorFlow {line}: CUDA {cuda}, cuDNN {cudnn}" in r.out
    assert "spaCy" not in r.out  # only the asked-for lines


def test_text_details_list_wheels_and_bad_releases(cli):
    out = cli("matrix", "--tf", "2.15").out
    assert "nvidia-cudnn-cu12==8.9.4.25" in out
    assert "avoid" not in out  # 2.15.0's extra pins TensorRT, which is optional
    out14 = cli("matrix", "--tf", "2.14").out
    assert row_of(out14, "2.14")[-2:] == ["TF-TRT", "optional"]
    assert "optional: tensorrt==8.5.3.1, only for TF-TRT (tf.experimental.tensorrt)" in out14
    out12 = cli("matrix", "--tf", "2.12").out
    assert "nvidia-cudnn-cu11==8.6.0.163" in out12
    assert "wheels from cudaenv" in out12


def test_text_without_filters_shows_every_line(cli):
    r = cli("matrix")
    assert r.code == 0, r.err
    k = load()
    for t in k.tensorflow:
        assert row_of(r.out, str(t.line), "TensorFlow")[1:3] == [str(t.cuda), str(t.cudnn)]
    for t in k.torch:
        assert row_of(r.out, str(t.line), "PyTorch")[1:3] == [str(t.cuda), str(t.cudnn)]
    for j in k.jax:
        assert row_of(r.out, str(j.line), "JAX")[1] == spec_text(j.python)
    for s in k.spacy:
        assert row_of(r.out, str(s.line))[1:3] == [spec_text(s.thinc), spec_text(s.python)]
    assert " ".join(row_of(r.out, "2.22")).endswith("and-cuda] pre-release only")
    assert " ".join(row_of(r.out, "3.5")).endswith("11: cuda11x")
    assert " ".join(row_of(r.out, "3.8")).endswith("11: cuda11x, 12: cuda12x")


def test_json_for_one_tf_line(cli):
    r = cli("matrix", "--tf", "2.15", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert set(data) == {"tensorflow", "torch", "jax", "spacy"}
    assert data["spacy"] == data["torch"] == data["jax"] == []
    (row,) = data["tensorflow"]
    assert set(row) == TF_KEYS
    assert row["version"] == "2.15"
    assert (row["cuda"], row["cudnn"]) == ("12.2", "8.9")
    assert row["python"] == ">=3.9,<3.12"
    assert row["min_driver"] == "525.60.13"
    assert "nvidia-cudnn-cu12==8.9.4.25" in row["wheels"]
    assert len(row["wheels"]) == 12


def test_json_for_a_cu11_line_lists_the_added_requirements(cli):
    (row,) = json.loads(cli("matrix", "--tf", "2.12", "--json").out)["tensorflow"]
    assert (row["cuda"], row["cudnn"], row["min_driver"]) == ("11.8", "8.6", "450.80.02")
    assert row["wheels"] == [str(r) for r in load().tf_line(V("2.12")).requirements]


def test_json_for_a_spacy_line(cli):
    data = json.loads(cli("matrix", "--spacy", "3.7", "--json").out)
    assert data["tensorflow"] == []
    assert data["spacy"] == [
        {
            "version": "3.7",
            "thinc": ">=8.1.8,<8.3.0",
            "gpu_extras": {"11": "cuda11x", "12": "cuda12x"},
            "python": ">=3.7,<3.13",
        }
    ]


def test_json_without_filters_has_every_line_in_order(cli):
    data = json.loads(cli("matrix", "--json").out)
    k = load()
    assert [r["version"] for r in data["tensorflow"]] == [str(t.line) for t in k.tensorflow]
    assert [r["version"] for r in data["spacy"]] == [str(s.line) for s in k.spacy]
    assert all(set(r) == TF_KEYS for r in data["tensorflow"])
    assert all(set(r) == SPACY_KEYS for r in data["spacy"])
    for r in data["tensorflow"]:
        t = k.tf_line(V(r["version"]))
        assert r["min_driver"] == str(k.min_driver_for(t.min_cuda))


def test_torch_and_jax_lines_say_what_can_share_an_environment(cli):
    r = cli("matrix", "--torch", "2.7.1", "--torch", "2.11", "--jax", "0.7")
    assert r.code == 0, r.err
    assert "TensorFlow" not in r.out and "spaCy" not in r.out
    assert row_of(r.out, "2.7", "PyTorch")[:6] == ["2.7", "12.6", "9.5", ">=3.9,<3.14",
                                                   "525.60.13", "x86_64"]  # fmt: skip
    assert row_of(r.out, "2.11", "PyTorch")[:5] == ["2.11", "13.0", "9.19", ">=3.10,<3.15",
                                                    "580.65.06"]  # fmt: skip
    jax = " ".join(row_of(r.out, "0.7", "JAX"))
    assert "12: cuda12 (cuDNN >=9.8,<10.0), 13: cuda13 from 0.7.2" in jax
    assert jax.endswith("525.60.13 / 580.65.06")
    assert "one CUDA major and one cuDNN major" in r.out
    assert "source: PyPI metadata of torch==2.7.1" in r.out


def test_json_for_torch_and_jax_lines(cli):
    data = json.loads(cli("matrix", "--torch", "2.9", "--jax", "0.4", "--json").out)
    assert data["tensorflow"] == data["spacy"] == []
    assert data["torch"] == [
        {
            "version": "2.9",
            "cuda": "12.8",
            "cudnn": "9.10",
            "python": ">=3.10,<3.15",
            "min_driver": "525.60.13",
            "gpu_machines": ["x86_64"],
            "triton": "triton==3.5.1",
        }
    ]
    (jax,) = data["jax"]
    assert jax["cuda"] == {
        "12": {
            "extra": "cuda12",
            "since": "0.4.23",
            "cudnn": ">=9.1,<10.0",
            "min_driver": "525.60.13",
        }
    }


def test_unknown_torch_line_exits_2_with_a_line_that_works(cli):
    r = cli("matrix", "--torch", "1.13")
    assert r.code == 2
    assert "PyTorch 1.13 is not in cudaenv's knowledge base" in r.err
    newest = str(max(t.line for t in load().torch))
    assert f"hint: use --torch {newest}" in r.err
    assert cli("matrix", "--torch", newest).code == 0  # the hint, followed


def test_both_filters_and_repeats(cli):
    args = ("matrix", "--tf", "2.16", "--tf", "2.12.1", "--tf", "2.16.2", "--spacy", "3.8")
    data = json.loads(cli(*args, "--json").out)
    assert [r["version"] for r in data["tensorflow"]] == ["2.12", "2.16"]
    assert [r["version"] for r in data["spacy"]] == ["3.8"]


def test_unknown_line_exits_2_listing_known_lines(cli):
    r = cli("matrix", "--tf", "9.9")
    assert r.code == 2
    assert r.out == ""
    assert "TensorFlow 9.9 is not in cudaenv's knowledge base" in r.err
    assert "2.12, 2.13" in r.err and "2.21" in r.err
    assert "Traceback" not in r.err
    newest = str(max(t.line for t in load().tensorflow))
    assert f"hint: use --tf {newest}" in r.err
    assert cli("matrix", "--tf", newest).code == 0  # the hint, followed


def test_unknown_spacy_line_in_json_mode(cli):
    r = cli("matrix", "--spacy", "2.0", "--json")
    assert r.code == 2
    error = json.loads(r.out)["error"]
    assert "spaCy 2.0" in error["message"]
    assert "3.5, 3.6, 3.7, 3.8" in error["context"]
    assert error["remedies"][0]["options"] == [["--spacy", "3.8"]]


def test_not_a_version_exits_2(cli):
    r = cli("matrix", "--tf", "latest")
    assert r.code == 2
    assert "--tf 'latest' is not a version" in r.err


def test_broken_knowledge_base_is_an_error_not_a_traceback(cli, tmp_path, monkeypatch):
    root = tmp_path / "kb"
    shutil.copytree(MINIMAL, root)
    path = root / "recipes" / "tensorflow.toml"
    path.write_text(path.read_text().replace('cudnn = "8.9"', 'cudnn = "8.x"'))
    monkeypatch.setattr(
        knowledge_pkg, "data_dirs", lambda: (root / "recipes", root / "constraints")
    )
    knowledge_pkg.load.cache_clear()
    try:
        r = cli("matrix")
    finally:
        knowledge_pkg.load.cache_clear()
    assert r.code == 2
    assert "knowledge base has 1 invalid entry" in r.err
    assert 'tensorflow.toml: lines."2.15".cudnn: not a version' in r.err
    assert "Traceback" not in r.err
