# cudaenv: sourced by `conda activate` (POSIX shells) for this environment.
# Puts the CUDA libraries of this environment's NVIDIA wheels on LD_LIBRARY_PATH; the matching
# deactivate.d/cudaenv.sh restores every variable exactly (unset stays unset, unexported stays
# unexported, values verbatim). A cudaenv venv active below is covered while this environment is
# on top, and applied again when it is left.
# Every value below was quoted for the shell by cudaenv, so nothing in a path is ever run.

{{ ENGINE }}

# What this environment's CUDA stack needs at run time (found on disk when this was written).
_cudaenv_apply_C () {
    _CUDAENV_ACTIVE=C
{{ STEPS }}
    _cudaenv_rehash
}
_cudaenv_enter C {{ PREFIX }}
