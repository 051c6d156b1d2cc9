# cudaenv: sourced by `conda deactivate` (POSIX shells) for this environment.
# Restores exactly what activate.d/cudaenv.sh changed: unset stays unset, unexported stays
# unexported, values come back verbatim. conda runs this before it changes CONDA_PREFIX and
# CONDA_SHLVL, so on `conda deactivate` (conda's shell function sources this with its own
# arguments, so $1 says which) the level conda goes back to is worked out here, and a cudaenv
# venv that was active below this environment is applied again. On `conda activate` of another
# environment nothing below is applied: the new environment goes on top.

{{ ENGINE }}

if [ "${1-}" = deactivate ] ; then
    _cudaenv_next_lvl=${CONDA_SHLVL-}
    _cudaenv_next_cp=
    case $_cudaenv_next_lvl in
        ''|*[!0-9]*) _cudaenv_next_lvl=0 ;;
        *)
            if [ "$_cudaenv_next_lvl" -gt 0 ] ; then
                _cudaenv_next_lvl=$((_cudaenv_next_lvl - 1))
            fi
            if [ "$_cudaenv_next_lvl" -gt 0 ] ; then
                eval "_cudaenv_next_cp=\${CONDA_PREFIX_$_cudaenv_next_lvl-}"
            fi ;;
    esac
    _cudaenv_leave C {{ PREFIX }} "$_cudaenv_next_lvl" "$_cudaenv_next_cp"
    unset -v _cudaenv_next_lvl _cudaenv_next_cp
else
    _cudaenv_leave C {{ PREFIX }}
fi
