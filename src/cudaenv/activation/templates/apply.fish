# cudaenv: what this environment's CUDA stack needs at run time (found on disk when written).
# _cudaenv_prepend SEP OURS OLD sets _cudaenv_out to the elements of OURS followed by every
# element of OLD that is not empty and not already there: an empty element of LD_LIBRARY_PATH
# or PATH means "the current directory", so none is ever added, and activating twice changes
# nothing.
function _cudaenv_prepend -a sep ours old
    set -g _cudaenv_out (string split -- $sep $ours)
    for el in (string split -- $sep $old)
        if test -n "$el"; and not contains -- $el $_cudaenv_out
            set -a _cudaenv_out $el
        end
    end
end
{{ STEPS }}
functions -e _cudaenv_prepend
set -e _cudaenv_out
