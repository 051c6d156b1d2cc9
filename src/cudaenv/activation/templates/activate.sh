# Activation for a cudaenv environment (a venv), for POSIX shells: sh, dash, bash, zsh, ksh.
# Use it with `. bin/activate` (or `source bin/activate`); running it does nothing useful.
#
# Written by cudaenv in place of the venv's own bin/activate: it does what that script does
# (VIRTUAL_ENV, PATH, PYTHONHOME, the prompt) and also puts the CUDA libraries of this
# environment's NVIDIA wheels on LD_LIBRARY_PATH. `deactivate` restores every variable exactly:
# one that was unset is unset again, one that was set gets its old value back, byte for byte.
# Every value below was quoted for the shell by cudaenv, so nothing in a path is ever run.

# Leave whatever environment is active first (its own deactivate restores what it changed).
# Only a shell function is called: an executable named deactivate (pyenv has one) is not ours.
case "$(type deactivate 2>/dev/null)" in
    *function*) deactivate nondestructive ;;
esac

deactivate () {
    if [ -n "${_CUDAENV_ACTIVE+_}" ] ; then
{{ RESTORE }}
        unset _CUDAENV_ACTIVE
    fi
    if [ -n "${_OLD_VIRTUAL_PATH+_}" ] ; then
        PATH=$_OLD_VIRTUAL_PATH
        export PATH
        unset _OLD_VIRTUAL_PATH
    fi
    if [ -n "${_OLD_VIRTUAL_PYTHONHOME+_}" ] ; then
        PYTHONHOME=$_OLD_VIRTUAL_PYTHONHOME
        export PYTHONHOME
        unset _OLD_VIRTUAL_PYTHONHOME
    fi
    if [ -n "${_OLD_VIRTUAL_PS1+_}" ] ; then
        PS1=$_OLD_VIRTUAL_PS1
        unset _OLD_VIRTUAL_PS1
    fi
    unset VIRTUAL_ENV VIRTUAL_ENV_PROMPT
    hash -r 2>/dev/null || true
    if [ "${1-}" != nondestructive ] ; then
        unset -f deactivate
    fi
}

VIRTUAL_ENV={{ VIRTUAL_ENV }}
export VIRTUAL_ENV

_OLD_VIRTUAL_PATH=${PATH-}
PATH={{ BIN_DIR }}${PATH:+:$PATH}
export PATH

if [ -n "${PYTHONHOME+_}" ] ; then
    _OLD_VIRTUAL_PYTHONHOME=$PYTHONHOME
    unset PYTHONHOME
fi

VIRTUAL_ENV_PROMPT={{ PROMPT }}
export VIRTUAL_ENV_PROMPT
if [ -z "${VIRTUAL_ENV_DISABLE_PROMPT-}" ] && [ -n "${PS1+_}" ] ; then
    _OLD_VIRTUAL_PS1=$PS1
    PS1="(${VIRTUAL_ENV_PROMPT}) ${PS1}"
fi

_CUDAENV_ACTIVE={{ VIRTUAL_ENV }}
{{ APPLY }}
hash -r 2>/dev/null || true
