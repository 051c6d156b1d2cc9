# cudaenv: sourced by `conda deactivate` (fish) for this environment.
# Restores exactly what activate.d/cudaenv.fish changed: unset stays unset, values come back.

if set -q _CUDAENV_ACTIVE
{{ RESTORE }}
    set -e _CUDAENV_ACTIVE
end
