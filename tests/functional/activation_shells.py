"""Real shells for the activation tests: drivers that set a starting state, run steps, and dump
the exact state of the variables activation touches after each step.

A dump records, for every watched name, whether the shell has it unset, set (not exported) or
exported, and its value: the shell's own view (``${NAME+_}``, fish ``set -q``) plus ``env -0``
(what programs see). bash and zsh run interactively (script on stdin) where a step needs their
prompt hook; fish's hooks fire in any mode.

conda is not on PyPI, so a machine without it gets ``FAKE_CONDA``: conda's shell functions
reduced to what activation depends on, in conda's order (conda/activate.py ``_yield_commands``:
PATH on deactivate, deactivate.d scripts, unset, export, activate.d scripts; ``build_activate``
runs the old environment's deactivate.d when it switches, ``build_deactivate`` the activate.d of
the environment below). Like conda.sh, the scripts are sourced inside the function that got
conda's arguments, and ``__conda_hashr`` runs last (``hash -r``; in zsh ``rehash``). Where conda
is importable the same steps run through the real one.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

WATCHED = ("LD_LIBRARY_PATH", "XLA_FLAGS", "PATH", "VIRTUAL_ENV", "PROMPT_COMMAND")
Value = tuple[str, str] | None  # (state "set" | "exported", value); None: unset


@dataclass(frozen=True, slots=True)
class Shell:
    name: str
    argv: tuple[str, ...]
    fish: bool = False
    interactive: bool = False  # runs bash's/zsh's prompt hook between steps

    @property
    def hooks(self) -> bool:
        return self.fish or self.interactive


SHELLS = {
    "dash": Shell("dash", ("dash", "-s")),
    "bash": Shell("bash", ("bash", "--norc", "--noprofile", "-s")),
    "zsh": Shell("zsh", ("zsh", "-f", "-s")),
    "bash-i": Shell("bash-i", ("bash", "--norc", "--noprofile", "-i"), interactive=True),
    "zsh-i": Shell("zsh-i", ("zsh", "-f", "-i"), interactive=True),
    "fish": Shell("fish", ("fish", "--no-config"), fish=True),
}


def shell(name: str) -> Shell:
    found = SHELLS[name]
    if shutil.which(found.argv[0]) is None:
        pytest.skip(f"{found.argv[0]} is not installed (./scripts/test installs it as root)")
    return found


ENGINE = (Path(__file__).parents[2] / "src/cudaenv/activation/templates/engine.sh").read_text()
FUNCTIONS = (
    *sorted(set(re.findall(r"^(_cudaenv_\w+) \(\)", ENGINE, re.M))),
    "_cudaenv_apply_V",
    "_cudaenv_apply_C",
    "_cudaenv_user_hash",
    "_cudaenv_user_rehash",
)

POSIX_PRELUDE = r"""PS1="> "; PS2=
t_dump () {
    for t_n in LD_LIBRARY_PATH XLA_FLAGS PATH VIRTUAL_ENV PROMPT_COMMAND ; do
        eval "t_s=\${$t_n+_}"
        if [ -n "$t_s" ] ; then eval "printf '%s=%s\0' \$t_n \"\$$t_n\"" ; fi
    done > "$OUT/$1.shell"
    /usr/bin/env -0 > "$OUT/$1.env"
}
t_residue () {
    set | grep -a -i '^_cudaenv\|^_OLD_VIRTUAL'
    for t_f in $T_FUNCTIONS ; do
        if command -v "$t_f" >/dev/null 2>&1 ; then echo "function $t_f" ; fi
    done
    for t_f in hash rehash ; do
        case $(type "$t_f" 2>/dev/null) in *function*) echo "function $t_f" ;; esac
    done
}
"""
FISH_PRELUDE = r"""function t_dump
    for t_n in LD_LIBRARY_PATH XLA_FLAGS PATH VIRTUAL_ENV PROMPT_COMMAND
        set -q $t_n; and printf '%s=%s\0' $t_n "$$t_n"
    end > "$OUT/$argv[1].shell"
    /usr/bin/env -0 > "$OUT/$argv[1].env"
end
function t_residue
    set -n | string match -i '_cudaenv*'
    functions -a -n | string match '_cudaenv*'
    functions -q _old_fish_prompt; and echo _old_fish_prompt
    set -n | string match '_OLD_*'
end
"""
# zsh splits $T_FUNCTIONS only when asked; the conda stand-in's globs may match nothing and
# carry comments
ZSH_PRELUDE = "setopt sh_word_split no_nomatch interactive_comments\n"

FAKE_CONDA_SH = r"""
conda () {
    case "${1-}" in activate|deactivate) __conda_activate "$@" ; __conda_hashr ;; esac
}
__conda_hashr () {  # conda.sh's, verbatim but for posh
    if [ -n "${ZSH_VERSION:+x}" ]; then
        \rehash
    else
        \hash -r
    fi
}
__conda_path () {  # PATH without $1/bin, then $2/bin in front when given
    t_p=: ; t_r=$PATH
    while [ -n "$t_r" ] ; do
        t_e=${t_r%%:*} ; [ "$t_e" = "$t_r" ] && t_r= || t_r=${t_r#*:}
        [ -n "$1" ] && [ "$t_e" = "$1/bin" ] || t_p=$t_p$t_e:
    done
    t_p=${t_p#:} ; t_p=${t_p%:}
    PATH=${2:+$2/bin:}$t_p ; export PATH
}
__conda_activate () {
    t_lvl=${CONDA_SHLVL:-0}
    if [ "$1" = activate ] ; then
        if [ "$t_lvl" -gt 0 ] && [ "$CONDA_PREFIX" = "$2" ] ; then
            for t_s in "$2"/etc/conda/deactivate.d/*.sh ; do
                if [ -f "$t_s" ] ; then . "$t_s" ; fi
            done
            for t_s in "$2"/etc/conda/activate.d/*.sh ; do
                if [ -f "$t_s" ] ; then . "$t_s" ; fi
            done
            return 0
        fi
        if [ "$t_lvl" -gt 0 ] ; then
            for t_s in "$CONDA_PREFIX"/etc/conda/deactivate.d/*.sh ; do
                if [ -f "$t_s" ] ; then . "$t_s" ; fi
            done
            __conda_path "$CONDA_PREFIX" "$2"
            eval "CONDA_PREFIX_$t_lvl=\$CONDA_PREFIX" ; export "CONDA_PREFIX_$t_lvl"
        else
            __conda_path "" "$2"
        fi
        CONDA_PREFIX=$2 ; CONDA_SHLVL=$((t_lvl + 1)) ; export CONDA_PREFIX CONDA_SHLVL
        for t_s in "$2"/etc/conda/activate.d/*.sh ; do
            if [ -f "$t_s" ] ; then . "$t_s" ; fi
        done
    elif [ "$t_lvl" -gt 0 ] ; then
        t_lvl=$((t_lvl - 1))
        if [ "$t_lvl" -gt 0 ] ; then eval "t_below=\$CONDA_PREFIX_$t_lvl" ; else t_below= ; fi
        __conda_path "$CONDA_PREFIX" "$t_below"
        for t_s in "$CONDA_PREFIX"/etc/conda/deactivate.d/*.sh ; do
            if [ -f "$t_s" ] ; then . "$t_s" ; fi
        done
        CONDA_SHLVL=$t_lvl ; export CONDA_SHLVL
        if [ "$t_lvl" -gt 0 ] ; then
            unset "CONDA_PREFIX_$t_lvl" ; CONDA_PREFIX=$t_below ; export CONDA_PREFIX
            for t_s in "$t_below"/etc/conda/activate.d/*.sh ; do
                if [ -f "$t_s" ] ; then . "$t_s" ; fi
            done
        else
            unset CONDA_PREFIX
        fi
    fi
}
"""
FAKE_CONDA_FISH = r"""
function __conda_path -a old new
    set -l kept
    for t_e in $PATH
        test -n "$old"; and test "$t_e" = "$old/bin"; or set -a kept $t_e
    end
    test -n "$new"; and set -p kept $new/bin
    set -gx PATH $kept
end
function conda
    set -l t_lvl 0
    set -q CONDA_SHLVL; and set t_lvl $CONDA_SHLVL
    if test "$argv[1]" = activate
        set -l new $argv[2]
        if test $t_lvl -gt 0; and test "$CONDA_PREFIX" = "$new"
            for t_s in $new/etc/conda/deactivate.d/*.fish; source $t_s; end
            for t_s in $new/etc/conda/activate.d/*.fish; source $t_s; end
            return 0
        end
        if test $t_lvl -gt 0
            for t_s in $CONDA_PREFIX/etc/conda/deactivate.d/*.fish; source $t_s; end
            __conda_path $CONDA_PREFIX $new
            set -gx CONDA_PREFIX_$t_lvl $CONDA_PREFIX
        else
            __conda_path "" $new
        end
        set -gx CONDA_PREFIX $new
        set -gx CONDA_SHLVL (math $t_lvl + 1)
        for t_s in $new/etc/conda/activate.d/*.fish; source $t_s; end
    else if test "$argv[1]" = deactivate; and test $t_lvl -gt 0
        set t_lvl (math $t_lvl - 1)
        set -l below
        set -l t_v CONDA_PREFIX_$t_lvl
        test $t_lvl -gt 0; and set below $$t_v
        __conda_path $CONDA_PREFIX "$below"
        for t_s in $CONDA_PREFIX/etc/conda/deactivate.d/*.fish; source $t_s; end
        set -gx CONDA_SHLVL $t_lvl
        if test $t_lvl -gt 0
            set -e CONDA_PREFIX_$t_lvl
            set -gx CONDA_PREFIX $below
            for t_s in $below/etc/conda/activate.d/*.fish; source $t_s; end
        else
            set -e CONDA_PREFIX
        end
    end
end
"""
HAS_CONDA = importlib.util.find_spec("conda") is not None


def real_conda(sh: Shell) -> str:
    """The lines that set up the real conda's shell functions in ``sh``."""
    py = sys.executable.replace("'", "'\\''")
    if sh.fish:
        return f"'{py}' -m conda shell.fish hook | source\n"
    kind = {"dash": "posix", "bash": "bash", "zsh": "zsh"}[sh.argv[0]]
    return f"eval \"$('{py}' -m conda shell.{kind} hook)\"\n"


@dataclass(frozen=True, slots=True)
class Run:
    dumps: dict[str, dict[str, Value]]
    residue: str
    stdout: str
    stderr: str


def _parse(out: Path, label: str) -> dict[str, Value]:
    def pairs(suffix: str) -> dict[str, str]:
        text = (out / f"{label}.{suffix}").read_text()
        return dict(item.split("=", 1) for item in text.split("\0") if item)

    seen, exported = pairs("shell"), pairs("env")
    state: dict[str, Value] = {}
    for name in WATCHED:
        if name in exported:
            assert seen.get(name) == exported[name], f"{label}: {name} differs in env"
            state[name] = ("exported", exported[name])
        elif name in seen:
            state[name] = ("set", seen[name])
        else:
            state[name] = None
    return state


def run(sh: Shell, setup: str, steps: list[tuple[str, str]], work: Path, **paths: Path) -> Run:
    """Run ``setup``, then each (label, command) step followed by a dump; ``paths`` become
    variables of the same name (so no path is ever spelled inside a driver)."""
    out = work / "out"
    out.mkdir()
    lines = [FISH_PRELUDE if sh.fish else POSIX_PRELUDE]
    if sh.argv[0] == "zsh":
        lines.append(ZSH_PRELUDE)
    lines += [setup, "t_dump start"]
    for label, command in steps:
        lines += [command, f"t_dump {label}"]
    lines += ["" if sh.fish else "set +eu", 't_residue > "$OUT/residue"', "true"]
    environ = {k: v for k, v in os.environ.items() if k not in WATCHED and "CONDA" not in k}
    environ.update(
        {k: str(v) for k, v in paths.items()},
        OUT=str(out),
        T_FUNCTIONS=" ".join(FUNCTIONS),
        PATH="/usr/local/bin:/usr/bin:/bin",
        HOME=str(out / "home"),
        XDG_CONFIG_HOME=str(out / "home" / ".config"),
        XDG_DATA_HOME=str(out / "home" / ".local" / "share"),
    )
    done = subprocess.run(
        sh.argv,
        input="\n".join(lines) + "\n",
        cwd=work,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for bad in ("not found", "Unknown command", "rror", "bad ", "unbound"):
        assert bad not in done.stderr, done.stderr
    labels = ["start", *(label for label, _ in steps)]
    dumps = {label: _parse(out, label) for label in labels}
    residue = (out / "residue").read_text()
    return Run(dumps=dumps, residue=residue, stdout=done.stdout, stderr=done.stderr)


def set_base(sh: Shell, base: dict[str, Value]) -> str:
    """Shell lines that give the watched variables their starting state."""
    lines = []
    for name, value in base.items():
        if value is None:
            lines.append(f"set -e {name}" if sh.fish else f"unset {name}")
            continue
        state, text = value
        quoted = (
            "'"
            + (
                text.replace("\\", "\\\\").replace("'", "\\'")
                if sh.fish
                else text.replace("'", "'\\''")
            )
            + "'"
        )
        if sh.fish:
            lines.append(f"set -g{'x' if state == 'exported' else ''} {name} {quoted}")
        else:
            lines.append(f"{name}={quoted}" + (f"; export {name}" if state == "exported" else ""))
    return "\n".join(lines)
