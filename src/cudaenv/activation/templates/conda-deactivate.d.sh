# cudaenv: sourced by `conda deactivate` (POSIX shells) for this environment.
# Restores exactly what activate.d/cudaenv.sh changed: unset stays unset, values come back verbatim.

if [ -n "${_CUDAENV_ACTIVE+_}" ] ; then
{{ RESTORE }}
    unset _CUDAENV_ACTIVE
fi
hash -r 2>/dev/null || true
