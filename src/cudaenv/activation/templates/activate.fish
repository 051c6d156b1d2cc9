# Activation for a cudaenv environment (a venv), for fish.
# Use it with `source bin/activate.fish`; running it does nothing useful.
#
# Written by cudaenv in place of the venv's own bin/activate.fish: it does what that script does
# (VIRTUAL_ENV, PATH, PYTHONHOME, the prompt) and also puts the CUDA libraries of this
# environment's NVIDIA wheels on LD_LIBRARY_PATH. `deactivate` restores every variable exactly:
# one that was unset is unset again, one that was not exported is not exported again, one that
# was set gets its old value back. Another environment activated on top (a stock venv, conda)
# never runs with this environment's libraries: see the engine below.
# Every value below was quoted for fish by cudaenv, so nothing in a path is ever run.

# Leave whatever environment is active first (its own deactivate restores what it changed).
if functions -q deactivate
    deactivate nondestructive
end

{{ ENGINE }}

function deactivate -d "Leave this environment and restore what activating it changed"
    set -l own (set -q _cudaenv_busy; or echo 1)
    set -g _cudaenv_busy 1
    if test "$_CUDAENV_V" = {{ PREFIX }}; and test "$_CUDAENV_ACTIVE" = V
        _cudaenv_restore
    end
    # PATH: exactly as before while it holds what activation made of it; else (conda changed it
    # since) only this environment's bin/ is taken out
    if set -q _OLD_VIRTUAL_PATH
        if test "$PATH" = (string join : -- {{ BIN_DIR }} $_OLD_VIRTUAL_PATH)
            set -gx PATH $_OLD_VIRTUAL_PATH
        else if set -l at (contains -i -- {{ BIN_DIR }} $PATH)
            set -e PATH[$at]
        end
        set -e _OLD_VIRTUAL_PATH
    end
    if set -q _OLD_VIRTUAL_PYTHONHOME
        set -gx PYTHONHOME $_OLD_VIRTUAL_PYTHONHOME
        set -e _OLD_VIRTUAL_PYTHONHOME
    end
    # the prompt's names are the stock script's, so that a stock deactivate restores it too
    if set -q _OLD_FISH_PROMPT_OVERRIDE
        set -e _OLD_FISH_PROMPT_OVERRIDE
        if functions -q _old_fish_prompt
            functions -e fish_prompt
            functions -c _old_fish_prompt fish_prompt
            functions -e _old_fish_prompt
        end
    end
    set -e VIRTUAL_ENV
    set -e VIRTUAL_ENV_PROMPT
    set -q own[1]; and set -e -g _cudaenv_busy
    if set -q _CUDAENV_V; and test "$_CUDAENV_V" = {{ PREFIX }}
        _cudaenv_leave V {{ PREFIX }}
    end
    if test "$argv[1]" != nondestructive
        functions -e deactivate
    end
end

set -g _cudaenv_busy 1
set -gx VIRTUAL_ENV {{ VIRTUAL_ENV }}

set -g _OLD_VIRTUAL_PATH $PATH
set -gx PATH {{ BIN_DIR }} $PATH

if set -q PYTHONHOME
    set -g _OLD_VIRTUAL_PYTHONHOME $PYTHONHOME
    set -e PYTHONHOME
end

set -gx VIRTUAL_ENV_PROMPT {{ PROMPT }}
if test -z "$VIRTUAL_ENV_DISABLE_PROMPT"; and functions -q fish_prompt
    functions -c fish_prompt _old_fish_prompt
    function fish_prompt
        set -l old_status $status
        printf '(%s) ' $VIRTUAL_ENV_PROMPT
        echo "exit $old_status" | source
        _old_fish_prompt
    end
    set -g _OLD_FISH_PROMPT_OVERRIDE $VIRTUAL_ENV
end

# What this environment's CUDA stack needs at run time (found on disk when this was written).
function _cudaenv_apply_V
    set -g _CUDAENV_ACTIVE V
{{ STEPS }}
end
_cudaenv_enter V {{ PREFIX }}
set -e -g _cudaenv_busy
