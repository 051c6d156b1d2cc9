"""The doctor's check of the start-up hook (:mod:`cudaenv.preload`): is it there, and did it work?

Read from :attr:`Facts.hook <cudaenv.doctor.facts.Facts.hook>`, what the hook did in a probe run
under the caller's environment: the libraries it loaded from the environment, any that a copy
from elsewhere answered to first (that copy then serves every framework, whatever the hook
does), and any that did not load. Pure, like the other checks.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from cudaenv.doctor.facts import Finding

if TYPE_CHECKING:
    from cudaenv.doctor.facts import Facts
    from cudaenv.preload.probe import HookReport

__all__ = ["preload"]


def preload(facts: Facts) -> list[Finding]:
    """Findings about the start-up hook of ``facts.env`` (none when it has no NVIDIA wheels)."""
    hook = facts.hook
    if hook is None or not sorted(facts.env.site_packages.glob("nvidia/*/lib")):
        return []
    if not hook.present:
        return [_absent(facts)]
    if hook.disabled:
        return [
            Finding.command(
                "library-path",
                "info",
                "CUDAENV_NO_PRELOAD is set, so the start-up hook loads nothing: without "
                "activation the NVIDIA libraries are found only through the loader's search",
                "unset CUDAENV_NO_PRELOAD",
            )
        ]
    if hook.error is not None:
        return [
            Finding.of(
                "library-path",
                "warning",
                f"the start-up hook did not run in a probe: {hook.error}",
                f"run `{shlex.quote(str(facts.env.python))} -c 'import _cudaenv_preload'` "
                "to see why",
            )
        ]
    return [_present(hook), *_elsewhere(facts, hook), *_failed(facts, hook)]


def _absent(facts: Facts) -> Finding:
    lock = facts.env.prefix / "pylock.toml"
    message = (
        "no start-up hook: started without activation (by path, from an IDE, cron, a worker "
        "process or a kernel), its Python loads the NVIDIA libraries only through the loader's "
        "search"
    )
    if not lock.is_file():
        folders = sorted(facts.env.site_packages.glob("nvidia/*/lib"))
        return Finding.command("library-path", "info", message, facts.path_fix(*folders))
    where = shlex.quote(f"{facts.env.prefix}-cudaenv")
    fix = f"cudaenv create --from {shlex.quote(str(lock))} -p {where}"
    return Finding.command("library-path", "info", message, fix)


def _present(hook: HookReport) -> Finding:
    by = f" ({hook.written_by})" if hook.written_by else ""
    return Finding.of(
        "none",
        "info",
        f"start-up hook{by}: in a probe it loaded {len(hook.loaded)} of the {hook.planned} "
        "NVIDIA libraries it lists from this environment, so its frameworks get them without "
        "activation",
        "nothing to do; CUDAENV_NO_PRELOAD=1 turns it off",
    )


def _elsewhere(facts: Facts, hook: HookReport) -> list[Finding]:
    out = []
    preloaded = facts.environ.get("LD_PRELOAD", "")
    for soname, path in hook.elsewhere:
        message = (
            f"{soname} was already loaded from {path} before the start-up hook ran, so every "
            "framework in the process uses that copy, not this environment's"
        )
        if preloaded:
            out.append(Finding.command("several-installs", "error", message, "unset LD_PRELOAD"))
        else:
            fix = (
                "load nothing of CUDA before the first framework import (a sitecustomize or a "
                "module imported earlier)"
            )
            out.append(Finding.of("several-installs", "error", message, fix))
    return out


def _failed(facts: Facts, hook: HookReport) -> list[Finding]:
    no_driver = not facts.report.driver.loaded
    driver = [(s, e) for s, e in hook.failed if no_driver and "libcuda.so" in e]
    out = []
    if driver:
        names = ", ".join(s for s, _ in driver)
        out.append(
            Finding.of(
                "driver",
                "info",
                f"the start-up hook could not load {names}: they need the NVIDIA driver's "
                "libcuda.so.1, which this machine lacks",
                "nothing to do on a machine without a GPU",
            )
        )
    rest = [x for x in hook.failed if x not in driver]
    return out + ([_not_loading(facts, rest)] if rest else [])


def _not_loading(facts: Facts, failed: list[tuple[str, str]]) -> Finding:
    names = ", ".join(s or "(the hook)" for s, _ in failed)
    soname, error = failed[0]
    wheel = facts.wheel_for(soname) if soname else None
    fix = (
        facts.install_fix("--force-reinstall", wheel)
        if wheel
        else "reinstall the NVIDIA wheel that ships it"
    )
    return Finding.of(
        "library-path",
        "warning",
        f"the start-up hook could not load {names} ({error})",
        fix,
        (fix,) if wheel else (),
    )
