# cudaenv: what this environment's CUDA stack needs at run time (found on disk when written).
# _cudaenv_prepend SEP OURS OLD sets _cudaenv_out to OURS followed by every element of OLD
# that is not empty and not already there: an empty element of LD_LIBRARY_PATH or PATH means
# "the current directory", so none is ever added, and activating twice changes nothing.
_cudaenv_prepend () {
    _cudaenv_out=$2
    _cudaenv_rest=$3
    while [ -n "$_cudaenv_rest" ] ; do
        _cudaenv_el=${_cudaenv_rest%%"$1"*}
        if [ "$_cudaenv_el" = "$_cudaenv_rest" ] ; then
            _cudaenv_rest=
        else
            _cudaenv_rest=${_cudaenv_rest#*"$1"}
        fi
        if [ -n "$_cudaenv_el" ] ; then
            case "$1$_cudaenv_out$1" in
                *"$1$_cudaenv_el$1"*) ;;
                *) _cudaenv_out=$_cudaenv_out$1$_cudaenv_el ;;
            esac
        fi
    done
}
{{ STEPS }}
unset -f _cudaenv_prepend
unset _cudaenv_out _cudaenv_rest _cudaenv_el
