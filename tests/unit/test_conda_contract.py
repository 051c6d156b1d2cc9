"""What conda relies on when it runs ``conda cudaenv``, checked without conda (CI has none).

conda parses ``conda cudaenv ...`` with the parser cudaenv configures, then reads the
Namespace itself before it calls the command: ``prefix`` and ``name`` as strings (its
``determine_target_prefix`` calls ``.strip()``; a ``Path`` crashed it), and every argument
named like one of its settings as that setting, of that setting's type, with at most one name
per setting (``verbose`` next to conda's own ``verbosity`` made it refuse the command).
``tests/data/conda/settings.json`` is conda's table of settings, read from conda itself; the
``conda``-marked test in ``tests/functional/test_conda_plugin.py`` checks it against a real
conda, and runs every command through conda's own parser.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import types
from functools import partial
from pathlib import Path

import pytest

from cudaenv import cli

CONDA = json.loads((Path(__file__).parents[1] / "data" / "conda" / "settings.json").read_text())
SETTINGS = {name: row for row in CONDA["settings"] for name in row["names"]}


def commands(host: str = "conda") -> dict[str, argparse.ArgumentParser]:
    parser = argparse.ArgumentParser(prog="conda cudaenv")
    cli.configure_parser(parser, host=host)
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _value(action: argparse.Action) -> str:
    if action.choices:
        return str(next(iter(action.choices)))
    return "1" if action.type is int else "/srv/a path/with spaces"


def _argvs(name: str, parser: argparse.ArgumentParser) -> list[list[str]]:
    """The command with its positionals, then with every option set, once per choice in each
    group of options that exclude each other (``-p``, ``-n``, ``--python``)."""
    base = [name]
    for action in parser._actions:
        if action.required and action.option_strings:
            base += [action.option_strings[-1], _value(action)]
    base += [_value(a) for a in parser._actions if not a.option_strings]
    grouped = [g._group_actions for g in parser._mutually_exclusive_groups]
    alone = {id(a) for g in grouped for a in g}
    options: list[str] = []
    for action in parser._actions:
        if not action.option_strings or id(action) in alone or action.dest == "help":
            continue
        if action.required:
            continue  # already in base
        flag = action.option_strings[-1]
        takes = action.nargs != 0 and not isinstance(action, argparse._CountAction)
        options += [flag, _value(action)] if takes else [flag]
    picks = [[]] + [
        [a.option_strings[-1], _value(a)] if a.nargs != 0 else [a.option_strings[-1]]
        for g in grouped
        for a in g
    ]
    return [base, *([*base, *options, *pick] for pick in picks)]


PARSES = [
    (name, argv)
    for name, parser in commands().items()
    for argv in _argvs(name, parser)
    if name != "version"
]


def _parse(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="conda cudaenv")
    cli.configure_parser(parser, host="conda")
    return {k: v for k, v in vars(parser.parse_args(argv)).items() if not k.startswith("_")}


def test_the_commands_parsed_here_are_all_of_them():
    assert {name for name, _ in PARSES} == {m.NAME for m in cli._command_modules()}
    assert any("--prefix" in argv for _, argv in PARSES)
    assert any("--name" in argv for _, argv in PARSES)


@pytest.mark.parametrize(("name", "argv"), PARSES, ids=[" ".join(a) for _, a in PARSES])
def test_prefix_and_name_are_strings_or_none(name, argv):
    parsed = _parse(argv)
    for key in CONDA["read_as_strings"]:
        assert parsed.get(key) is None or type(parsed[key]) is str, (key, parsed.get(key))


@pytest.mark.parametrize(("name", "argv"), PARSES, ids=[" ".join(a) for _, a in PARSES])
def test_an_argument_named_like_a_conda_setting_has_its_type(name, argv):
    parsed = _parse(argv)
    for key, value in parsed.items():
        row = SETTINGS.get(key)
        if row is None:
            continue
        if row["kind"] == "primitive":
            assert type(value).__name__ == row["type"], (key, value, row)
        else:
            assert row["kind"] == "sequence", (key, row)
            assert isinstance(value, list) and all(type(v) is str for v in value), (key, value)


@pytest.mark.parametrize(("name", "argv"), PARSES, ids=[" ".join(a) for _, a in PARSES])
def test_no_conda_setting_is_named_twice(name, argv):
    """conda's pre-parser puts its own dests (``verbosity``, ``json``...) in the same Namespace."""
    keys = set(_parse(argv)) | set(CONDA["pre_parser"])
    for row in CONDA["settings"]:
        assert len(keys & set(row["names"])) <= 1, (row["names"], sorted(keys))


def test_only_an_environment_is_called_name():
    """conda checks ``name`` as a conda environment's name (``conda cudaenv kernel --name 'My
    kernel'`` was refused: "Environment names cannot contain ' '"), so only the commands whose
    ``-n NAME`` names an environment may use that dest."""
    having = {n for n, p in commands().items() if any(a.dest == "name" for a in p._actions)}
    assert having == {"create", "smoke", "doctor", "fix"}


def test_every_argument_parses_to_a_plain_value():
    """No ``type=Path`` (or any object) anywhere: conda keeps every value as a raw setting."""
    for host in ("conda", "cudaenv"):
        for name, parser in commands(host).items():
            for action in parser._actions:
                assert action.type in (None, str, int, float), (host, name, action.dest)


def test_minus_v_counts_into_condas_verbosity_before_and_after_the_command():
    assert _parse(["detect"])["verbosity"] == 0
    assert _parse(["-v", "detect"])["verbosity"] == 1
    after = _parse(["detect", "-vv", "-q"])
    assert (after["verbosity"], after["quiet"]) == (2, True)


@pytest.fixture
def stand_in_conda(monkeypatch: pytest.MonkeyPatch):
    """``conda.plugins`` as the plugin module sees it: ``hookimpl`` and a ``CondaSubcommand``
    that takes exactly the fields of conda's (from the capture), nothing of conda itself."""
    fields = CONDA["subcommand_fields"]

    class CondaSubcommand:
        def __init__(self, **given: object) -> None:
            missing = set(fields["required"]) - set(given)
            unknown = set(given) - set(fields["required"]) - set(fields["optional"])
            assert not missing and not unknown, (missing, unknown)
            self.__dict__.update(given)

    plugins = types.ModuleType("conda.plugins")
    plugins.hookimpl = lambda fn: fn  # type: ignore[attr-defined]
    plugin_types = types.ModuleType("conda.plugins.types")
    plugin_types.CondaSubcommand = CondaSubcommand  # type: ignore[attr-defined]
    for name, module in {
        "conda": types.ModuleType("conda"),
        "conda.plugins": plugins,
        "conda.plugins.types": plugin_types,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "cudaenv.conda_plugin", raising=False)
    yield importlib.import_module("cudaenv.conda_plugin")
    sys.modules.pop("cudaenv.conda_plugin", None)


def test_the_hook_yields_one_subcommand_with_condas_fields(stand_in_conda):
    (sub,) = list(stand_in_conda.conda_subcommands())
    assert sub.name == "cudaenv"
    assert isinstance(sub.summary, str) and "GPU" in sub.summary
    assert sub.action is cli.execute
    assert isinstance(sub.configure_parser, partial)
    assert sub.configure_parser.func is cli.configure_parser
    assert sub.configure_parser.keywords == {"host": "conda"}
    parser = argparse.ArgumentParser(prog="conda cudaenv")
    sub.configure_parser(parser)
    assert parser.parse_args(["detect"]).host == "conda"
