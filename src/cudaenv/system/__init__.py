"""OS plumbing every stage may use: child processes, signals, temporary files, memory, the file
system's refusals and ELF files.

Nothing here knows of environments, locks or the solver; every module imports at most
:mod:`cudaenv.errors`, so any stage, and the CLI, sits above it. ``process`` (start a tool, pass
its output on, never leave one running) imports nothing of cudaenv; ``supervise`` runs a
command as cudaenv's child with its signals passed on (``cudaenv run``); ``interrupts`` makes
SIGTERM unwind like Ctrl-C and cleans up on every exit; ``tmpfiles`` removes the temporary
files still being written; ``memory`` gives freed pages back; ``oserrors`` turns the file
system's refusal on a path the user gave into an expected failure; ``uvtemp`` removes what a
stopped uv leaves in its cache; ``elf`` reads a shared library's dynamic section.
"""

from __future__ import annotations

__all__: list[str] = []
