"""NVIDIA's compatibility rules as values: when one library release may stand in for another.

Two frameworks in one environment often pin different exact releases of the same NVIDIA wheel.
constraints/compat_rules.toml records, with its source, each statement NVIDIA makes about
mixing releases within a major version; this module reads those rows and answers the one
question the solver asks: may a pin of this package be replaced by that newer release? A rule
never reaches across a major version (the first version number, which is the library's SONAME
major), and never lowers a pin.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.version import Version

    from cudaenv.knowledge.parse import Row

__all__ = ["EFFECTS", "SCOPES", "CompatRule", "compat_rule"]

# relax: pins may be raised within the scope; floor: doing so leaves the driver floor as it was;
# caveat: a limit NVIDIA states, repeated when such a pin is relaxed.
EFFECTS = frozenset({"relax", "floor", "caveat"})
SCOPES = frozenset({"same-major"})

_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_PATTERN = re.compile(r"^[a-z0-9*?][a-z0-9*?._-]*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class CompatRule:
    """One sourced statement of NVIDIA's about which releases of some libraries may be mixed."""

    id: str
    effect: str  # one of EFFECTS
    packages: tuple[str, ...]  # fnmatch patterns over normalized names
    scope: str  # one of SCOPES
    statement: str
    source: str

    def covers(self, name: str) -> bool:
        """Whether the rule speaks about the wheel ``name`` (a normalized name)."""
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.packages)

    def in_scope(self, pinned: Version, chosen: Version) -> bool:
        """Whether ``chosen`` may stand in for ``pinned``: same major, and not older."""
        return chosen.release[0] == pinned.release[0] and chosen >= pinned

    def allows(self, name: str, pinned: Version, chosen: Version) -> bool:
        """Whether this rule lets ``chosen`` replace a pin of ``name`` at ``pinned``."""
        return self.effect == "relax" and self.covers(name) and self.in_scope(pinned, chosen)


def compat_rule(row: Row) -> CompatRule | None:
    """Build one ``[[rule]]`` row of compat_rules.toml."""
    row.only({"id", "effect", "packages", "scope", "statement", "source"})
    rule_id, effect, scope = row.text("id"), row.text("effect"), row.text("scope")
    packages = row.strings("packages", required=True)
    if rule_id is not None and not _ID.match(rule_id):
        row.fail("id", f"not a kebab-case name ({rule_id!r})")
    if effect is not None and effect not in EFFECTS:
        row.fail("effect", f"not one of {', '.join(sorted(EFFECTS))} ({effect!r})")
    if scope is not None and scope not in SCOPES:
        row.fail("scope", f"not one of {', '.join(sorted(SCOPES))} ({scope!r})")
    for pattern in packages:
        if not _PATTERN.match(pattern):
            row.fail("packages", f"not a normalized name pattern ({pattern!r})")
    if row.table.get("packages") == []:
        row.fail("packages", "empty")
    statement, source = row.text("statement"), row.source()
    if rule_id is None or effect is None or scope is None or statement is None or source is None:
        return None
    if not row.ok:
        return None
    return CompatRule(
        id=rule_id,
        effect=effect,
        packages=packages,
        scope=scope,
        statement=statement,
        source=source,
    )
