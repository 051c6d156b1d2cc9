# cudaenv: sourced by `conda activate` (fish) for this environment.
# Puts the CUDA libraries of this environment's NVIDIA wheels on LD_LIBRARY_PATH; the matching
# deactivate.d/cudaenv.fish restores every variable exactly (unset stays unset).
# Every value below was quoted for fish by cudaenv, so nothing in a path is ever run.

# Re-activation: undo a previous activation first, so activating twice equals once.
if set -q _CUDAENV_ACTIVE
{{ RESTORE }}
    set -e _CUDAENV_ACTIVE
end

set -g _CUDAENV_ACTIVE {{ PREFIX }}
{{ APPLY }}
