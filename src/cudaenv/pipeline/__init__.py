"""The stages put together into the work of the commands: detect, solve, create, install, add.

``steps`` holds the steps before an environment exists (detect the machine, solve against the
index, check a lock against the index) and :class:`~.steps.IndexOptions`, the index flags as one
value; ``creation`` the create pipeline (solve or read a lock, then lock, environment, install,
activation and start-up hook inside one transaction); ``install`` the installer stage (the
locked wheels by URL and hash, uv or pip, no resolution); ``add`` packages added to a finished
environment and recorded beside its lock. The command modules call these; nothing here prints:
what a step is doing goes to the caller's sink.
"""

from __future__ import annotations

__all__: list[str] = []
