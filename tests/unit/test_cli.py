"""The command line's contract: help, version, and how failures become exit codes."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from cudaenv import __version__
from cudaenv import cli as cli_module


def test_version(cli):
    r = cli("--version")
    assert r.code == 0
    assert __version__ in r.out


def test_no_command_prints_help_and_fails(cli):
    r = cli()
    assert r.code == 2
    assert "usage" in r.out.lower()


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("argv", [["matrix"], ["matrix", "--json"]])
def test_a_reader_that_went_away_is_not_a_failure(argv, buffered):
    """`cudaenv matrix | head -0`: exit 0 and no Python complaint, whether stdout's buffer is
    written while the command runs (PYTHONUNBUFFERED) or only at the end (a user's shell)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cudaenv", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert err == ""


def test_a_bug_exits_1_with_its_traceback_and_says_so(capsys):
    def run(args: argparse.Namespace) -> int:
        raise RuntimeError("boom")

    assert cli_module.execute(argparse.Namespace(_run=run)) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: boom" in err
    assert err.rstrip().endswith("this is a bug, please report it with the traceback above")


@pytest.mark.parametrize("verbose", [False, True])
def test_verbose_adds_the_traceback_to_an_expected_failure(cli, tmp_path, verbose):
    argv = ["-v"] if verbose else []
    r = cli(*argv, "explain", str(tmp_path / "absent.log"))
    assert r.code == 2
    assert f"error: cannot read {tmp_path / 'absent.log'}" in r.err
    assert "hint: cudaenv explain FILE, or - for stdin" in r.err
    assert ("Traceback" in r.err) is verbose


COMMANDS = [m.NAME for m in cli_module._command_modules()]


@pytest.mark.parametrize("name", COMMANDS)
def test_help_of_each_command_ends_with_two_or_three_examples_that_parse(cli, name):
    import shlex

    r = cli(name, "--help")
    assert r.code == 0
    head, _, tail = r.out.rstrip("\n").rpartition("\nexamples:\n")
    assert head, r.out
    examples = tail.splitlines()
    assert 2 <= len(examples) <= 3, examples
    parser = argparse.ArgumentParser(prog="cudaenv")
    cli_module.configure_parser(parser)
    for example in examples:
        assert example.startswith(f"  cudaenv {name}"), example
        words = shlex.split(example)[1:]
        words = words[: next((i for i, w in enumerate(words) if w in "<>|"), len(words))]
        assert parser.parse_args(words).command == name, example


def test_under_conda_the_examples_say_conda_cudaenv():
    parser = argparse.ArgumentParser(prog="conda cudaenv")
    cli_module.configure_parser(parser, host="conda")
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert "\n  conda cudaenv create --tf 2.15" in sub.choices["create"].format_help()


@pytest.mark.parametrize("argv", [["-q", "matrix"], ["matrix", "-q"], ["matrix", "--quiet"]])
def test_quiet_is_taken_before_and_after_the_command(cli, argv):
    r = cli(*argv, "--tf", "2.15")
    assert r.code == 0 and "2.15" in r.out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["create", "-p", "X", "-n", "Y"], "-n/--name cannot be given with -p/--prefix"),
        (["create", "--installer", "npm"], "--installer: invalid choice: 'npm'"),
        (["solve", "--tf"], "--tf: expected one argument"),
        (["solve", "--tf", "2.15", "--bogus"], "unrecognized arguments: --bogus"),
        (["create", "-p", "", "--tf", "2.15"], "-p/--prefix: an empty value"),
        (["doctor", "-p", ""], "-p/--prefix: an empty value"),
        (["kernel", "-p", "E", "--name", ""], "--name: an empty value"),
        (["solve", "--platform", "", "--tf", "2.15"], "--platform: an empty value"),
    ],
)
def test_a_usage_error_is_one_sentence_and_a_hint_that_works(
    cli, tmp_path, monkeypatch, argv, message
):
    monkeypatch.chdir(tmp_path)
    r = cli(*argv)
    assert r.code == 2
    error, hint = r.err.splitlines()
    assert error.startswith(f"error: {message}") and hint == f"hint: see `cudaenv {argv[0]} --help`"
    assert list(tmp_path.iterdir()) == []
    command = r.err.split("`")[1].split()
    assert cli(*command[1:]).code == 0


def test_under_json_a_usage_error_is_json(cli):
    import json

    r = cli("create", "-p", "X", "-n", "Y", "--json")
    assert r.code == 2
    error = json.loads(r.out)["error"]
    assert error["message"] == "-n/--name cannot be given with -p/--prefix"
    assert error["reference"] == "bad-input" and error["hint"] == "see `cudaenv create --help`"
    assert r.err == ""


@pytest.mark.parametrize("python", ["3.11.7.1", "3.11rc1", "3", "3.11+local", "1!3.11", "2.7"])
def test_a_python_that_is_not_3_x_or_3_x_y_is_refused(cli, python):
    r = cli("solve", "--python", python, "--tf", "2.15", "--offline")
    assert r.code == 2
    assert f"error: --python {python!r} is not a Python" in r.err
    assert "hint: use e.g. --python 3.11" in r.err


def test_a_python_with_its_patch_release_means_its_minor():
    from cudaenv.request import Target

    assert str(Target.from_strings("3.11.7", None).python) == "3.11"


def test_an_index_url_that_is_no_url_is_one_sentence_before_any_request(cli):
    r = cli("solve", "--spacy", "3.7", "--cpu", "--index-url", "not-a-url")
    assert r.code == 2
    assert r.err.splitlines() == [
        "error: --index-url 'not-a-url' is neither an http(s) URL nor a folder on this machine",
        "hint: give the index's URL, e.g. --index-url https://pypi.org/simple",
    ]


def test_a_warning_logged_below_the_cli_reads_as_a_warning(cli, tmp_path, monkeypatch):
    (tmp_path / "mirror").mkdir()
    gone = (tmp_path / "gone").as_uri()
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", gone)
    r = cli("solve", "--tf", "2.15", "--index-url", str(tmp_path / "mirror"), "--offline")
    assert r.err.splitlines()[0] == (
        f"warning: the index {gone} (named by PIP_EXTRA_INDEX_URL) does not exist: skipped"
    )
