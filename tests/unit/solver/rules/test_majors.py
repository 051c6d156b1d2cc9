"""majors.py: one CUDA major per environment, chosen from the recipe lines. No server: the
lines are the real recipes', the index is a fake catalog."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version
from tests.tools.fake_catalog import FakeCatalog, context

from cudaenv.errors import Remedy, ResolutionError
from cudaenv.solver.rules.context import StackMajor
from cudaenv.solver.rules.majors import choose, known_lines, majors, newest_line, reaching

LISTED = {
    "tensorflow": ["2.15.1", "2.18.1", "2.21.0"],
    "torch": ["2.7.1", "2.9.1", "2.10.0", "2.11.0"],
    "jax": ["0.7.2", "0.8.0"],
    "spacy": ["3.7.5", "3.8.11"],
}


NAMES = {"tf": "tensorflow", "torch": "torch", "jax": "jax", "spacy": "spacy"}


def lines_of(ctx, **asked: str):
    """Each framework asked for (``tf="2.18"``) with its recipe line of that name."""
    return {
        canonicalize_name(NAMES[flag]): tuple(
            x for x in known_lines(ctx.knowledge, NAMES[flag]) if str(x.line) == line
        )
        for flag, line in asked.items()
    }


def test_each_kind_of_line_reaches_its_majors() -> None:
    ctx = context(tf="2.15")
    by_line = {
        name: {str(x.line): majors(x) for x in known_lines(ctx.knowledge, name)}
        for name in ("tensorflow", "torch", "jax", "spacy")
    }
    assert by_line["tensorflow"]["2.12"] == {11} and by_line["tensorflow"]["2.18"] == {12}
    assert by_line["torch"]["2.7"] == {12} and by_line["torch"]["2.11"] == {13}
    assert by_line["jax"]["0.7"] == {12, 13}  # one per CUDA extra
    assert by_line["spacy"]["3.8"] == {11, 12}  # one per GPU extra


@pytest.mark.parametrize(
    ("driver", "asked", "major", "who"),
    [
        ("580.65.06", {"tf": "2.18", "torch": "2.7"}, 12, "TensorFlow 2.18"),
        ("580.65.06", {"torch": "2.11", "jax": "0.7"}, 13, "PyTorch 2.11"),
        (None, {"torch": "2.11", "jax": "0.7"}, 13, "PyTorch 2.11"),  # 12 is not common
        (None, {"jax": "0.8"}, 12, "JAX 0.8"),  # no driver: CUDA 12 where allowed
        ("580.65.06", {"jax": "0.8"}, 13, "JAX 0.8"),  # the newest the driver runs
        ("580.65.06", {"jax": "0.8", "spacy": "3.8"}, 12, "JAX 0.8"),  # spaCy's extras stop at 12
    ],
)
def test_the_newest_major_every_framework_reaches_that_the_driver_runs(
    driver: str | None, asked: dict[str, str], major: int, who: str
) -> None:
    ctx = context(driver=driver, **asked)
    chosen = choose(ctx, FakeCatalog(listed=LISTED), lines_of(ctx, **asked))
    assert chosen == StackMajor(major=major, who=who)


def test_spacy_alone_picks_its_own_major() -> None:
    ctx = context(driver="580.65.06", spacy="3.8")
    assert choose(ctx, FakeCatalog(listed=LISTED), lines_of(ctx, spacy="3.8")) is None


def test_no_common_major_is_refused_with_a_line_of_each_on_the_others_major() -> None:
    ctx = context(driver="580.65.06", tf="2.21", torch="2.11")
    with pytest.raises(ResolutionError) as info:
        choose(ctx, FakeCatalog(listed=LISTED), lines_of(ctx, tf="2.21", torch="2.11"))
    why = info.value.explanation
    assert why is not None
    assert why.headline == (
        "TensorFlow 2.21 for CUDA 12 and PyTorch 2.11 for CUDA 13: one environment holds one "
        "CUDA major"
    )
    # no TensorFlow line reaches CUDA 13; PyTorch's newest on CUDA 12 with a final release listed
    assert why.hints == (Remedy.use(("--torch", "2.10")),)


def test_the_newest_line_needs_a_final_release_listed_and_wheels_for_the_python() -> None:
    ctx = context(driver="535.104.05", torch="2.7")
    catalog = FakeCatalog(listed={"torch": ["2.7.1", "2.9.1", "2.10.0rc1"]})
    assert newest_line(ctx, catalog, "torch") == Version("2.9")  # 2.10 has only an rc
    assert newest_line(ctx, catalog, "torch", frozenset({13})) is None
    old = context(driver="535.104.05", torch="2.7", python="3.8")
    assert newest_line(old, FakeCatalog(listed=LISTED), "torch") is None  # no 3.8 wheels


def test_only_the_lines_that_reach_the_major_are_kept() -> None:
    ctx = context(jax="0.4")
    jax = known_lines(ctx.knowledge, "jax")
    assert all(13 in majors(x) for x in reaching(jax, 13))
    assert reaching(jax, 99) == tuple(jax)  # none does: all, and the solve explains
