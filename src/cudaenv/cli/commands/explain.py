"""``cudaenv explain FILE|-``: what the lines of a pasted TensorFlow/PyTorch/JAX/spaCy log mean.

Each known line (``recipes/log_lines.toml``) is explained once: what it means, whether it
matters (noise, problem, info) and the fix. Unknown lines are skipped silently; a log with no
known line says so and exits 0, as does any log: explaining is not judging. What is read is
bounded (:data:`LIMIT` bytes, lines of :data:`LINE` characters), so ``explain /dev/zero`` or an
endless pipe ends, with a warning that says what was left out.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from cudaenv.cli import render
from cudaenv.errors import OK, UsageError

if TYPE_CHECKING:
    import argparse

NAME = "explain"
HELP = "explain TensorFlow / PyTorch / JAX / spaCy / CuPy log lines (a file, or - for stdin)"
ORDER = 75
EXAMPLES = ("explain train.log", "explain - < train.log", "explain train.log --json")

__all__ = ["EXAMPLES", "HELP", "LIMIT", "LINE", "NAME", "ORDER", "configure", "read_text", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a log file, or - to read stdin")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


# Bytes of a log read (its last ones; a stream's first ones): about 100,000 lines, explained
# in seconds; every line is matched against every known pattern.
LIMIT = 8 * 1024 * 1024
LINE = 64 * 1024  # characters of a line classified: no known log line is near that long


def read_text(name: str) -> str:
    """The log's text, bounded: a file larger than :data:`LIMIT` is read from where its last
    :data:`LIMIT` bytes start, a stream (stdin, a pipe, ``/dev/zero``) up to :data:`LIMIT`
    bytes; each is said in a warning. Lines are cut to :data:`LINE` characters."""
    try:
        if name == "-":
            data, note = _read_stdin()
        else:
            data, note = _read_file(Path(name))
    except OSError as e:
        raise UsageError(
            f"cannot read {name}: {e.strerror or e}", hint="cudaenv explain FILE, or - for stdin"
        ) from e
    if note is not None:
        render.warn(note)
    text = data.decode("utf-8", errors="replace")
    return "\n".join(line[:LINE] for line in text.splitlines())


def _read_file(path: Path) -> tuple[bytes, str | None]:
    with path.open("rb") as f:
        facts = os.fstat(f.fileno())
        size = facts.st_size
        if not stat.S_ISREG(facts.st_mode):
            return _read_stream(f, str(path))
        if size <= LIMIT:
            return f.read(LIMIT), None
        f.seek(size - LIMIT)
        tail = f.read(LIMIT).split(b"\n", 1)[-1]  # from the first whole line on
        return tail, f"{path} holds {size} bytes: only its last {_mib(LIMIT)} were read"


def _read_stdin() -> tuple[bytes, str | None]:
    """stdin's bytes (its text where it has none: a host that replaced it)."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is not None:
        return _read_stream(stream)
    text = sys.stdin.read(LIMIT + 1)
    return _read_stream(io.BytesIO(text.encode("utf-8", errors="replace")))


def _read_stream(f: BinaryIO, what: str = "stdin") -> tuple[bytes, str | None]:
    data = f.read(LIMIT + 1)
    if len(data) <= LIMIT:
        return data, None
    return data[:LIMIT], f"{what} is longer than {_mib(LIMIT)}: only its first ones were read"


def _mib(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB"


def run(args: argparse.Namespace) -> int:
    from cudaenv.doctor import explain_log

    explained = explain_log(read_text(args.file))
    if args.json:
        render.emit_json({"lines": [x.to_dict() for x in explained]})
        return OK
    if not explained:
        render.line(
            "no known TensorFlow, PyTorch, JAX, spaCy or CuPy line in this log: nothing to explain"
        )
        return OK
    for x in explained:
        render.line(x.line)
        render.line(f"  {x.verdict} [{x.cause}]: {x.explanation}")
        if x.verdict != "noise":
            render.line(f"  fix: {x.fix}")
        render.line()
    problems = sum(1 for x in explained if x.verdict == "problem")
    render.line(f"{len(explained)} known line(s), {problems} problem(s)")
    return OK
