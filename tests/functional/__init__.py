"""Functional tests: real venvs, shells and a local index (a package: basenames repeat)."""
