"""remedies.py: a way out is offered only if following it resolves."""

from __future__ import annotations

from packaging.version import Version

from cudaenv.driver import DriverVersion
from cudaenv.errors import Remedy, ResolutionError
from cudaenv.knowledge import load
from cudaenv.machine import Machine
from cudaenv.request import Request
from cudaenv.solver.rules.remedies import MATRIX, apply, verified

REQUEST = Request.from_args(tf="2.15", spacy="3.7", python="3.12", platform="manylinux_2_28_x86_64")
MACHINE = Machine(
    driver_version=DriverVersion.parse("470.82.01"), max_cuda=Version("11.4"), source="override"
)


def test_options_change_the_request_and_the_machine() -> None:
    req, mach = apply(
        Remedy.use(("--tf", "2.14"), ("--python", "3.11"), ("--driver", "525.60.13")),
        REQUEST,
        MACHINE,
        load(),
    )
    assert [f.text for f in req.frameworks] == ["2.14", "3.7"]
    assert req.target.python == Version("3.11")
    assert (str(mach.driver_version), mach.max_cuda) == ("525.60.13", Version("12.0"))
    req, _ = apply(Remedy.use(("--pre", None), ("--cpu", None)), REQUEST, MACHINE, load())
    assert (req.pre, req.gpu) == (True, False)
    assert apply(Remedy.run(("cudaenv", "matrix")), REQUEST, MACHINE, load()) is None


def test_only_what_resolves_is_kept_the_first_of_each_option() -> None:
    tried: list[str] = []

    def attempt(req: Request, mach: Machine) -> object:
        tried.append(f"{req.target.python} {req.frameworks[0].text} {mach.driver_version}")
        if req.target.python == Version("3.13") or req.frameworks[0].text == "2.16":
            raise ResolutionError("no")
        return object()

    err = ResolutionError(
        "TensorFlow 2.15 has no wheels for Python 3.12",
        remedies=(
            Remedy.use(("--python", "3.13")),
            Remedy.use(("--python", "3.11")),
            Remedy.use(("--python", "3.10")),
            Remedy.use(("--tf", "2.16")),
        ),
    )
    out = verified(err, attempt, REQUEST, MACHINE, load())
    assert [r.text for r in out.remedies] == ["use --python 3.11"]
    assert out.hint == "use --python 3.11"
    assert tried == ["3.13 2.15 470.82.01", "3.11 2.15 470.82.01", "3.12 2.16 470.82.01"]


def test_when_nothing_resolves_the_matrix_is_the_way_out() -> None:
    def attempt(req: Request, mach: Machine) -> object:
        raise ResolutionError("no")

    err = ResolutionError("x", remedies=(Remedy.use(("--tf", "2.16")),))
    assert verified(err, attempt, REQUEST, MACHINE, load()).remedies == (MATRIX,)
    assert MATRIX.commands == (("cudaenv", "matrix"),)


def test_an_error_without_remedies_keeps_its_hint() -> None:
    err = ResolutionError("gave up", hint="pin --tf/--spacy to exact releases")
    assert verified(err, lambda r, m: None, REQUEST, MACHINE, load()) is err
