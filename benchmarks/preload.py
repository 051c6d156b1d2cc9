"""What the start-up hook costs: interpreter start and a framework's first import, with and without.

    python benchmarks/preload.py -p PREFIX [--repeats N] [--import-repeats M]
                                 [--module tensorflow] [--json-out FILE]

PREFIX is an environment cudaenv made (it carries the hook, ``_cudaenv_preload.pth`` and
``_cudaenv_preload.py`` in its site-packages). Rows, each run interleaved with the others
(A B C A B C ...) so that drift in the machine hits every variant alike; each cell is the median
with min-max of wall seconds, and CPU is user + system of the whole process tree
(measure.py):

  start         ``PREFIX/bin/python -c pass``: with the hook | ``CUDAENV_NO_PRELOAD=1`` (the
                ``.pth`` line runs, the module is not imported) | without the hook (its ``.pth``
                file moved aside for those runs)
  first-import  ``PREFIX/bin/python -c "import MODULE"``, not activated, with the hook |
                activated (activation's variables), the hook's ``.pth`` moved aside: the way
                cudaenv's environments found their libraries before the hook | activated and
                with the hook (an activated shell keeps it on)

"Without the hook" renames the ``.pth`` file for those runs only and puts it back afterwards
(also on Ctrl-C). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from measure import measure  # the script's folder is on sys.path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from measure import Measure

PTH = "_cudaenv_preload.pth"


def _site(prefix: Path) -> Path:
    sites = sorted(prefix.glob("lib/python3.*/site-packages"))
    if not sites or not (sites[-1] / PTH).is_file():
        raise SystemExit(f"{prefix} has no start-up hook ({PTH}): make it with `cudaenv create`")
    return sites[-1]


@contextlib.contextmanager
def _hook_off(site: Path) -> Iterator[None]:
    """The hook's .pth moved aside for the ``with`` body, put back whatever happens."""
    pth, aside = site / PTH, site / f"{PTH}.benchmark-off"
    pth.rename(aside)
    try:
        yield
    finally:
        aside.rename(pth)


def _activated(prefix: Path, base: dict[str, str]) -> dict[str, str]:
    """``base`` with what cudaenv's activation sets for ``prefix`` (cudaenv's own code decides:
    run this with the Python cudaenv is installed in)."""
    from cudaenv.envs.base import Env
    from cudaenv.knowledge import load
    from cudaenv.smoke import activated_environ, installed, recipe_lines

    env = Env.from_prefix(prefix)
    return activated_environ(env, recipe_lines(installed(env), load()), base)


Variant = tuple[
    str, list[str], dict[str, str], "Callable[[], contextlib.AbstractContextManager[None]]"
]


def _row(variants: list[Variant], repeats: int, tmp: Path) -> dict[str, list[Measure]]:
    runs: dict[str, list[Measure]] = {name: [] for name, *_ in variants}
    for _ in range(repeats):
        for name, cmd, environ, around in variants:
            with around():
                m = measure(cmd, env=environ, cwd=tmp, log=tmp / "out.log")
            if m.code != 0:
                raise SystemExit(f"{name}: exit {m.code}: {(tmp / 'out.log').read_text()[-2000:]}")
            runs[name].append(m)
    return runs


def _cell(runs: list[Measure]) -> str:
    walls = [m.wall_s * 1000 for m in runs]
    cpu = statistics.median(m.cpu_s * 1000 for m in runs)
    median = statistics.median(walls)
    return f"{median:.1f} ms ({min(walls):.1f}-{max(walls):.1f}), CPU {cpu:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-p", "--prefix", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=20, help="runs of each start variant")
    parser.add_argument("--import-repeats", type=int, default=5, help="runs of each import")
    parser.add_argument("--module", default="tensorflow", help="the framework to import")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    prefix = args.prefix.resolve()
    site = _site(prefix)
    python = str(prefix / "bin" / "python")
    base = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "VIRTUAL_ENV")}
    base.pop("CUDAENV_NO_PRELOAD", None)
    on: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext
    off = lambda: _hook_off(site)  # noqa: E731
    start = [python, "-c", "pass"]
    first = [python, "-c", f"import {args.module}"]
    activated = _activated(prefix, base)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        rows["start"] = _row(
            [
                ("with the hook", start, base, on),
                ("CUDAENV_NO_PRELOAD=1", start, {**base, "CUDAENV_NO_PRELOAD": "1"}, on),
                ("without the hook", start, base, off),
            ],
            args.repeats,
            Path(tmp),
        )
        rows["first-import"] = _row(
            [
                ("hook, not activated", first, base, on),
                ("activated, no hook", first, activated, off),
                ("activated, with the hook", first, activated, on),
            ],
            args.import_repeats,
            Path(tmp),
        )
    print(f"{prefix} (Python {sys.version.split()[0]} harness; load {os.getloadavg()[0]:.2f})")
    for row, variants in rows.items():
        print(f"{row}:")
        for name, runs in variants.items():
            print(f"  {name:28s} {_cell(runs)}")
    added = statistics.median(m.wall_s for m in rows["start"]["with the hook"]) - statistics.median(
        m.wall_s for m in rows["start"]["without the hook"]
    )
    print(f"start-up added by the hook (median): {added * 1000:+.2f} ms")
    if args.json_out:
        data = {
            r: {n: [m.to_json() for m in runs] for n, runs in v.items()} for r, v in rows.items()
        }
        args.json_out.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
