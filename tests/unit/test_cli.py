from __future__ import annotations

from cudaenv import __version__


def test_version(cli):
    r = cli("--version")
    assert r.code == 0
    assert __version__ in r.out


def test_no_command_prints_help_and_fails(cli):
    r = cli()
    assert r.code == 2
    assert "usage" in r.out.lower()
