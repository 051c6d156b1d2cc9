"""The header block of a METADATA file, read as ``packaging.metadata.parse_email`` reads it.

A cold solve reads the METADATA of about a hundred wheels; the ``email`` package that packaging
parses them with costs more to import and to run than the whole of what the solver needs, which
is five fields. :func:`headers` reads the header block the way ``email``'s ``compat32`` parser
does (lines end at CR, LF or CRLF; the block ends at the first line that is neither a header
nor a continuation; a leading ``From`` line is skipped; a value is the rest of its first line
without leading blanks, with its continuation lines, less the trailing line break), and keeps
what packaging keeps: a field any of whose values is not UTF-8 is left out, and so is a field
meant to appear once that appears more than once.
"""

from __future__ import annotations

import re

__all__ = ["MULTIPLE", "headers"]

_HEADER = re.compile(rb"From |[\041-\071\073-\176]*:|[\t ]")
MULTIPLE = frozenset({"requires-dist", "provides-extra"})  # fields that may appear many times


def headers(data: bytes, wanted: frozenset[str]) -> dict[str, list[str]]:
    """The *wanted* fields (lowercase names) of the header block of *data*: one value each,
    or every value of the fields in :data:`MULTIPLE`."""
    out: dict[str, list[str]] = {}
    for name, sources in _fields(_block(data)).items():
        if name not in wanted or (name not in MULTIPLE and len(sources) != 1):
            continue
        try:
            out[name] = [_value(source) for source in sources]
        except UnicodeDecodeError:
            continue
    return out


def _block(data: bytes) -> list[bytes]:
    """The lines of the header block, each with its line break."""
    block = []
    for line in data.splitlines(keepends=True):
        if not _HEADER.match(line):
            break
        block.append(line)
    return block


def _fields(block: list[bytes]) -> dict[str, list[list[bytes]]]:
    """Lowercase name -> the source lines of each of its values (first line, continuations)."""
    found: dict[str, list[list[bytes]]] = {}
    current: list[bytes] | None = None
    for number, line in enumerate(block):
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current.append(line)
            continue
        current = None
        if line.startswith(b"From "):
            if number == len(block) - 1 and number > 0:
                break  # a body line that looks like an envelope: the headers end before it
            continue  # the envelope line (first), or a misplaced one (ignored)
        colon = line.find(b":")
        if colon > 0:  # else no name before the colon: not a header
            current = [line]
            found.setdefault(line[:colon].decode("ascii").lower(), []).append(current)
    return found


def _value(source: list[bytes]) -> str:
    first = source[0].split(b":", 1)[1]
    return (first.lstrip(b" \t") + b"".join(source[1:])).rstrip(b"\r\n").decode("utf-8")
