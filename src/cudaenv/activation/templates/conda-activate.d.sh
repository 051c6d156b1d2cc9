# cudaenv: sourced by `conda activate` (POSIX shells) for this environment.
# Puts the CUDA libraries of this environment's NVIDIA wheels on LD_LIBRARY_PATH; the matching
# deactivate.d/cudaenv.sh restores every variable exactly (unset stays unset, values verbatim).
# Every value below was quoted for the shell by cudaenv, so nothing in a path is ever run.

# Re-activation: undo a previous activation first, so activating twice equals once.
if [ -n "${_CUDAENV_ACTIVE+_}" ] ; then
{{ RESTORE }}
    unset _CUDAENV_ACTIVE
fi

_CUDAENV_ACTIVE={{ PREFIX }}
{{ APPLY }}
hash -r 2>/dev/null || true
