# Activation for a cudaenv environment (a venv), for POSIX shells: sh, dash, bash, zsh, ksh.
# Use it with `. bin/activate` (or `source bin/activate`); running it does nothing useful.
#
# Written by cudaenv in place of the venv's own bin/activate: it does what that script does
# (VIRTUAL_ENV, PATH, PYTHONHOME, the prompt) and also puts the CUDA libraries of this
# environment's NVIDIA wheels on LD_LIBRARY_PATH. `deactivate` restores every variable exactly:
# one that was unset is unset again, one that was not exported is not exported again, one that
# was set gets its old value back, byte for byte. Another environment activated on top (a stock
# venv, conda) never runs with this environment's libraries: see the engine below.
# Every value below was quoted for the shell by cudaenv, so nothing in a path is ever run.

# Leave whatever environment is active first (its own deactivate restores what it changed).
# Only a shell function is called: an executable named deactivate (pyenv has one) is not ours.
case "$(type deactivate 2>/dev/null)" in
    *function*) deactivate nondestructive ;;
esac

{{ ENGINE }}

deactivate () {
    if [ "${_CUDAENV_V-}" = {{ PREFIX }} ] && [ "${_CUDAENV_ACTIVE-}" = V ] ; then
        _cudaenv_restore
    fi
    # PATH: exactly as before while it holds what activation made of it; else (conda changed it
    # since) only this environment's bin/ is taken out
    if [ -n "${_OLD_VIRTUAL_PATH+_}" ] ; then
        if [ "${PATH-}" = {{ BIN_DIR }}"${_OLD_VIRTUAL_PATH:+:$_OLD_VIRTUAL_PATH}" ] ; then
            PATH=$_OLD_VIRTUAL_PATH
        else
            _cudaenv_path=:${PATH-}:
            case $_cudaenv_path in
                *:{{ BIN_DIR }}:*)
                    _cudaenv_path=${_cudaenv_path%%:{{ BIN_DIR }}:*}:${_cudaenv_path#*:{{ BIN_DIR }}:}
                    _cudaenv_path=${_cudaenv_path#:}
                    PATH=${_cudaenv_path%:} ;;
            esac
            unset _cudaenv_path
        fi
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
    if [ "${_CUDAENV_V-}" = {{ PREFIX }} ] ; then
        _cudaenv_leave V {{ PREFIX }}
    fi
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

# What this environment's CUDA stack needs at run time (found on disk when this was written).
_cudaenv_apply_V () {
    _CUDAENV_ACTIVE=V
{{ STEPS }}
    _cudaenv_rehash
}
_cudaenv_enter V {{ PREFIX }}
_cudaenv_rehash
