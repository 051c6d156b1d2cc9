# Activation for a cudaenv environment (a venv), for fish.
# Use it with `source bin/activate.fish`; running it does nothing useful.
#
# Written by cudaenv in place of the venv's own bin/activate.fish: it does what that script does
# (VIRTUAL_ENV, PATH, PYTHONHOME, the prompt) and also puts the CUDA libraries of this
# environment's NVIDIA wheels on LD_LIBRARY_PATH. `deactivate` restores every variable exactly:
# one that was unset is unset again, one that was set gets its old value back.
# Every value below was quoted for fish by cudaenv, so nothing in a path is ever run.

# Leave whatever environment is active first (its own deactivate restores what it changed).
if functions -q deactivate
    deactivate nondestructive
end

function deactivate -d "Leave this environment and restore what activating it changed"
    if set -q _CUDAENV_ACTIVE
{{ RESTORE }}
        set -e _CUDAENV_ACTIVE
    end
    if set -q _OLD_VIRTUAL_PATH
        set -gx PATH $_OLD_VIRTUAL_PATH
        set -e _OLD_VIRTUAL_PATH
    end
    if set -q _OLD_VIRTUAL_PYTHONHOME
        set -gx PYTHONHOME $_OLD_VIRTUAL_PYTHONHOME
        set -e _OLD_VIRTUAL_PYTHONHOME
    end
    if functions -q _cudaenv_old_fish_prompt
        functions -e fish_prompt
        functions -c _cudaenv_old_fish_prompt fish_prompt
        functions -e _cudaenv_old_fish_prompt
    end
    set -e VIRTUAL_ENV
    set -e VIRTUAL_ENV_PROMPT
    if test "$argv[1]" != nondestructive
        functions -e deactivate
    end
end

set -gx VIRTUAL_ENV {{ VIRTUAL_ENV }}

set -g _OLD_VIRTUAL_PATH $PATH
set -gx PATH {{ BIN_DIR }} $PATH

if set -q PYTHONHOME
    set -g _OLD_VIRTUAL_PYTHONHOME $PYTHONHOME
    set -e PYTHONHOME
end

set -gx VIRTUAL_ENV_PROMPT {{ PROMPT }}
if test -z "$VIRTUAL_ENV_DISABLE_PROMPT"; and functions -q fish_prompt
    functions -c fish_prompt _cudaenv_old_fish_prompt
    function fish_prompt
        set -l old_status $status
        printf '(%s) ' $VIRTUAL_ENV_PROMPT
        echo "exit $old_status" | source
        _cudaenv_old_fish_prompt
    end
end

set -g _CUDAENV_ACTIVE {{ VIRTUAL_ENV }}
{{ APPLY }}
