# --- cudaenv's activation engine (the same text in every cudaenv script) -----------------------
# An environment cudaenv made is a layer: V, the venv activated with bin/activate, or C, the conda
# environment activated with `conda activate`. Only the layer on top is applied. Applying saves,
# for each variable it changes, whether it was unset, set or exported and its value; restoring
# gives back exactly that while the variable still holds what activation set, and otherwise (it
# was changed since) removes only the elements activation added. A layer covered by another
# environment (conda activated over the venv, a venv over conda) is restored, and applied again
# once it is on top again; a layer whose environment is gone is restored and forgotten: a stock
# venv's activate never calls cudaenv's deactivate (it defines its own first), so that check runs
# whenever a cudaenv script runs, whenever `hash` runs (and zsh's `rehash`: stock activate scripts
# and conda's shell functions run them right after they change PATH, so the check runs before
# the next command, in scripts and in sh too) and, in interactive bash and zsh, before every prompt.
# State, in shell variables that are never exported: _CUDAENV_ACTIVE (the applied layer),
# _CUDAENV_V and _CUDAENV_C (the layers' prefixes), _CUDAENV_V_LVL and _CUDAENV_V_CTX (conda's
# CONDA_SHLVL and CONDA_PREFIX when V was entered), _CUDAENV_C_CTX (VIRTUAL_ENV when C was entered),
# _CUDAENV_HOOK (the prompt hook is in place), _CUDAENV_FN_hash and _CUDAENV_FN_rehash (the
# function is in place: "-", or "f" and the text of the user's function it stands in for),
# _CUDAENV_VARS (" kind:NAME" for each variable changed), _CUDAENV_<NAME>_OLD (u, s or x, then
# the old value), _CUDAENV_<NAME>_NEW (what activation set) and _CUDAENV_<NAME>_ADD (what it added).

_cudaenv_prepend () {
    # SEP OURS OLD -> _cudaenv_out: OURS, then each element of OLD that is neither empty (an empty
    # element of a path list means "the current directory") nor already there.
    _cudaenv_out=$2
    _cudaenv_p_rest=$3
    while [ -n "$_cudaenv_p_rest" ] ; do
        _cudaenv_p_el=${_cudaenv_p_rest%%"$1"*}
        if [ "$_cudaenv_p_el" = "$_cudaenv_p_rest" ] ; then
            _cudaenv_p_rest=
        else
            _cudaenv_p_rest=${_cudaenv_p_rest#*"$1"}
        fi
        if [ -n "$_cudaenv_p_el" ] ; then
            case "$1$_cudaenv_out$1" in
                *"$1$_cudaenv_p_el$1"*) ;;
                *) _cudaenv_out=$_cudaenv_out$1$_cudaenv_p_el ;;
            esac
        fi
    done
}

_cudaenv_remove () {
    # KIND ADD VALUE -> _cudaenv_out: VALUE without the elements of ADD (path: each element of
    # the ':' list ADD; flags: ADD as one element); every other byte of VALUE is kept.
    if [ "$1" = path ] ; then
        _cudaenv_r_sep=:
        _cudaenv_r_todo=$2
    else
        _cudaenv_r_sep=' '
        _cudaenv_r_todo=
        _cudaenv_r_one=$2
    fi
    _cudaenv_out=$_cudaenv_r_sep$3$_cudaenv_r_sep
    while : ; do
        if [ "$1" = path ] ; then
            if [ -z "$_cudaenv_r_todo" ] ; then break ; fi
            _cudaenv_r_one=${_cudaenv_r_todo%%:*}
            if [ "$_cudaenv_r_one" = "$_cudaenv_r_todo" ] ; then
                _cudaenv_r_todo=
            else
                _cudaenv_r_todo=${_cudaenv_r_todo#*:}
            fi
        fi
        _cudaenv_r_cut=$_cudaenv_r_sep$_cudaenv_r_one$_cudaenv_r_sep
        while [ -n "$_cudaenv_r_one" ] ; do
            case $_cudaenv_out in
                *"$_cudaenv_r_cut"*)
                    _cudaenv_out=${_cudaenv_out%%"$_cudaenv_r_cut"*}$_cudaenv_r_sep${_cudaenv_out#*"$_cudaenv_r_cut"} ;;
                *) break ;;
            esac
        done
        if [ "$1" != path ] ; then break ; fi
    done
    _cudaenv_out=${_cudaenv_out#"$_cudaenv_r_sep"}
    _cudaenv_out=${_cudaenv_out%"$_cudaenv_r_sep"}
}

_cudaenv_was () {
    # NAME -> _cudaenv_w: u (unset), s (set, not exported) or x (exported)
    eval "_cudaenv_w=\${$1+s}"
    if [ -z "$_cudaenv_w" ] ; then
        _cudaenv_w=u
    elif [ -n "${BASH_VERSION-}" ] ; then
        _cudaenv_d=$(declare -p "$1" 2>/dev/null)
        _cudaenv_d=${_cudaenv_d#declare -}
        case ${_cudaenv_d%% *} in *x*) _cudaenv_w=x ;; esac
    elif [ -n "${ZSH_VERSION-}" ] ; then
        eval "_cudaenv_d=\${(t)$1}"
        case $_cudaenv_d in *-export*) _cudaenv_w=x ;; esac
    elif command -p sh -c "[ -n \"\${$1+_}\" ]" 2>/dev/null ; then
        _cudaenv_w=x
    fi
}

_cudaenv_set () {
    # KIND NAME OURS: save NAME, then set and export it: OURS (kind set), or OURS followed by its
    # old elements (path, flags). Elements of OURS already there are moved, never kept twice, so
    # a restore never brings this environment's folders back.
    _cudaenv_was "$2"
    eval "_cudaenv_v=\${$2-}"
    if [ "$1" = set ] ; then
        _cudaenv_new=$3
    else
        _cudaenv_remove "$1" "$3" "$_cudaenv_v"
        _cudaenv_v=$_cudaenv_out
        if [ "$1" = path ] ; then
            _cudaenv_prepend : "$3" "$_cudaenv_v"
        else
            _cudaenv_prepend ' ' "$3" "$_cudaenv_v"
        fi
        _cudaenv_new=$_cudaenv_out
    fi
    eval "_CUDAENV_$2_OLD=\$_cudaenv_w\$_cudaenv_v _CUDAENV_$2_NEW=\$_cudaenv_new _CUDAENV_$2_ADD=\$3"
    _CUDAENV_VARS="${_CUDAENV_VARS-} $1:$2"
    eval "$2=\$_cudaenv_new"
    export "$2"
}

_cudaenv_put_back () {
    # KIND NAME: undo _cudaenv_set KIND NAME
    eval "_cudaenv_on=\${$2+_} _cudaenv_v=\${$2-} _cudaenv_old=\${_CUDAENV_$2_OLD-u}"
    eval "_cudaenv_new=\${_CUDAENV_$2_NEW-} _cudaenv_add=\${_CUDAENV_$2_ADD-}"
    if [ -n "$_cudaenv_on" ] && [ "$_cudaenv_v" = "$_cudaenv_new" ] ; then
        case $_cudaenv_old in
            x*)
                eval "$2=\${_cudaenv_old#x}"
                export "$2" ;;
            s*)
                unset -v "$2"
                case $- in
                    *a*) set +a ; eval "$2=\${_cudaenv_old#s}" ; set -a ;;
                    *) eval "$2=\${_cudaenv_old#s}" ;;
                esac ;;
            *) unset -v "$2" ;;
        esac
    elif [ -n "$_cudaenv_on" ] && [ "$1" != set ] ; then
        _cudaenv_remove "$1" "$_cudaenv_add" "$_cudaenv_v"
        if [ -z "$_cudaenv_out" ] && [ "$_cudaenv_old" = u ] ; then
            unset -v "$2"
        elif [ "$_cudaenv_out" != "$_cudaenv_v" ] ; then
            eval "$2=\$_cudaenv_out"
        fi
    fi
    unset -v "_CUDAENV_$2_OLD" "_CUDAENV_$2_NEW" "_CUDAENV_$2_ADD"
}

_cudaenv_restore () {
    # Put back every variable the applied layer changed; then no layer is applied.
    _cudaenv_q_todo=${_CUDAENV_VARS-}
    while [ -n "$_cudaenv_q_todo" ] ; do
        _cudaenv_q_todo=${_cudaenv_q_todo# }
        _cudaenv_q_item=${_cudaenv_q_todo%% *}
        if [ "$_cudaenv_q_item" = "$_cudaenv_q_todo" ] ; then
            _cudaenv_q_todo=
        else
            _cudaenv_q_todo=${_cudaenv_q_todo#* }
        fi
        _cudaenv_put_back "${_cudaenv_q_item%%:*}" "${_cudaenv_q_item#*:}"
    done
    unset -v _CUDAENV_VARS _CUDAENV_ACTIVE
    _cudaenv_rehash
}

_cudaenv_where () {
    # [SHLVL CONDA_PREFIX] -> _cudaenv_ve, _cudaenv_lvl, _cudaenv_cp: where the shell is (or, from
    # a conda deactivate.d script, where conda is about to put it)
    _cudaenv_ve=${VIRTUAL_ENV-}
    if [ $# -ge 2 ] ; then
        _cudaenv_lvl=$1
        _cudaenv_cp=$2
    else
        _cudaenv_lvl=${CONDA_SHLVL-}
        _cudaenv_cp=${CONDA_PREFIX-}
    fi
    case $_cudaenv_lvl in ''|*[!0-9]*) _cudaenv_lvl=0 ;; esac
}

_cudaenv_on_top () {
    # LAYER: is LAYER's environment the one on top? (needs _cudaenv_where)
    if [ "$1" = V ] ; then
        if [ -z "${_CUDAENV_V+_}" ] ; then return 1 ; fi
        if [ "$_cudaenv_lvl" -lt "${_CUDAENV_V_LVL:-0}" ] ; then return 0 ; fi
        [ "$_cudaenv_lvl" -eq "${_CUDAENV_V_LVL:-0}" ] && [ "$_cudaenv_cp" = "${_CUDAENV_V_CTX-}" ]
    else
        # C stays on top while no venv is active or the venv below it still is
        [ -n "${_CUDAENV_C+_}" ] && { [ -z "$_cudaenv_ve" ] || [ "$_cudaenv_ve" = "${_CUDAENV_C_CTX-}" ] ; }
    fi
}

_cudaenv_drop () {
    # LAYER: restore LAYER if it is applied, and forget it
    if [ "${_CUDAENV_ACTIVE-}" = "$1" ] ; then _cudaenv_restore ; fi
    if [ "$1" = V ] ; then
        unset -v _CUDAENV_V _CUDAENV_V_LVL _CUDAENV_V_CTX
    else
        unset -v _CUDAENV_C _CUDAENV_C_CTX
    fi
    unset -f "_cudaenv_apply_$1"
}

_cudaenv_enter () {
    # LAYER PREFIX: LAYER (its _cudaenv_apply_LAYER just defined) goes on top and is applied
    if [ -n "${_CUDAENV_ACTIVE+_}" ] ; then _cudaenv_restore ; fi
    _cudaenv_where
    if [ "$1" = V ] ; then
        _CUDAENV_V=$2
        _CUDAENV_V_LVL=$_cudaenv_lvl
        _CUDAENV_V_CTX=$_cudaenv_cp
        if [ -n "${_CUDAENV_C+_}" ] && [ "$_cudaenv_cp" != "$_CUDAENV_C" ] ; then _cudaenv_drop C ; fi
    else
        _CUDAENV_C=$2
        _CUDAENV_C_CTX=$_cudaenv_ve
        if [ -n "${_CUDAENV_V+_}" ] && [ "$_cudaenv_ve" != "$_CUDAENV_V" ] ; then _cudaenv_drop V ; fi
    fi
    "_cudaenv_apply_$1"
    _cudaenv_hook_on
    _cudaenv_tidy
}

_cudaenv_leave () {
    # LAYER PREFIX [SHLVL CONDA_PREFIX]: the environment PREFIX is being left: restore and forget
    # its layer, then apply whichever layer is on top now
    if [ "$1" = V ] ; then _cudaenv_l=${_CUDAENV_V-} ; else _cudaenv_l=${_CUDAENV_C-} ; fi
    if [ -n "$_cudaenv_l" ] && [ "$_cudaenv_l" = "$2" ] ; then _cudaenv_drop "$1" ; fi
    shift 2
    _cudaenv_sync "$@"
}

_cudaenv_sync () {
    # [SHLVL CONDA_PREFIX]: forget layers whose environment is gone, restore a covered one, apply
    # one that is on top again; keeps $? (the prompt hook's, hash's); never runs inside itself
    set -- "$?" "$@"
    if [ -n "${_cudaenv_busy-}" ] ; then return "$1" ; fi
    _cudaenv_busy=1
    _cudaenv_rc=$1
    shift
    _cudaenv_where "$@"
    if [ -n "${_CUDAENV_V+_}" ] && [ "$_cudaenv_ve" != "$_CUDAENV_V" ] ; then _cudaenv_drop V ; fi
    if [ -n "${_CUDAENV_C+_}" ] && [ "$_cudaenv_cp" != "$_CUDAENV_C" ] ; then _cudaenv_drop C ; fi
    if [ -n "${_CUDAENV_ACTIVE+_}" ] && ! _cudaenv_on_top "$_CUDAENV_ACTIVE" ; then
        _cudaenv_restore
    fi
    if [ -z "${_CUDAENV_ACTIVE+_}" ] ; then
        if _cudaenv_on_top V ; then
            _cudaenv_apply_V
        elif _cudaenv_on_top C ; then
            _cudaenv_apply_C
        fi
    fi
    set -- "$_cudaenv_rc"
    unset -v _cudaenv_busy
    if [ -z "${_CUDAENV_V+_}${_CUDAENV_C+_}" ] ; then _cudaenv_cleanup ; else _cudaenv_tidy ; fi
    return "$1"
}

_cudaenv_rehash () {
    # Forget remembered command paths with the shell's own hash, never with the function below.
    if [ -n "${ZSH_VERSION-}${BASH_VERSION-}" ] ; then
        builtin hash -r
    else
        command hash -r
    fi 2>/dev/null || true
}

_cudaenv_wrap () {
    # NAME (hash; in zsh rehash too) becomes a function that runs the shell's own NAME, or the
    # user's function NAME (kept as _cudaenv_user_NAME), and then the check, keeping the status
    # and the output. bash and zsh keep the user's function's text to put it back; sh cannot
    # print a function, so there a function NAME of the user's (or an alias: ksh) is left alone.
    if eval "[ -n \"\${_CUDAENV_FN_$1+_}\" ]" ; then return 0 ; fi
    _cudaenv_d=-
    _cudaenv_call="builtin $1"
    if [ -n "${BASH_VERSION-}" ] ; then
        if declare -F "$1" >/dev/null ; then _cudaenv_d=f$(declare -pf "$1") ; fi
    elif [ -n "${ZSH_VERSION-}" ] ; then
        eval "if [ -n \"\${functions[$1]+_}\" ] ; then _cudaenv_d=f\${functions[$1]} ; fi"
    else
        case $(command -V "$1" 2>/dev/null) in
            *built*) _cudaenv_call="command $1" ;;
            *) return 0 ;;
        esac
    fi
    if [ "$_cudaenv_d" != - ] ; then
        _cudaenv_call=_cudaenv_user_$1
        if [ -n "${BASH_VERSION-}" ] ; then
            eval "function _cudaenv_user_$1 ${_cudaenv_d#"f$1"}"
        else
            eval "functions[_cudaenv_user_$1]=\${_cudaenv_d#f}"
        fi
        # a new definition would keep an old one's export: a child shell has no engine to call
        unset -f "$1"
    fi
    eval "_CUDAENV_FN_$1=\$_cudaenv_d"
    if [ -n "${ZSH_VERSION-}" ] ; then
        eval "functions[$1]='$_cudaenv_call \"\$@\" ; _cudaenv_sync'"
    elif [ -n "${BASH_VERSION-}" ] ; then
        # after the keyword, an alias named like the function is not expanded
        eval "function $1 { $_cudaenv_call \${1+\"\$@\"} ; _cudaenv_sync ; }"
    else
        eval "$1 () { $_cudaenv_call \${1+\"\$@\"} ; _cudaenv_sync ; }"
    fi
}

_cudaenv_unwrap () {
    # NAME: take the function NAME out, and put the user's back exactly
    if eval "[ -z \"\${_CUDAENV_FN_$1+_}\" ]" ; then return 0 ; fi
    eval "_cudaenv_d=\$_CUDAENV_FN_$1"
    unset -v "_CUDAENV_FN_$1"
    unset -f "$1" 2>/dev/null || true
    if [ "$_cudaenv_d" = - ] ; then return 0 ; fi
    unset -f "_cudaenv_user_$1"
    if [ -n "${BASH_VERSION-}" ] ; then
        eval "function ${_cudaenv_d#f}"
    else
        eval "functions[$1]=\${_cudaenv_d#f}"
    fi
}

_cudaenv_hook_on () {
    # Every shell: hash (zsh: and rehash) checks that the applied layer is still on top once it
    # has run; interactive bash and zsh check before every prompt too.
    _cudaenv_wrap hash
    if [ -n "${ZSH_VERSION-}" ] ; then _cudaenv_wrap rehash ; fi
    case $- in *i*) ;; *) return 0 ;; esac
    if [ -n "${_CUDAENV_HOOK+_}" ] ; then return 0 ; fi
    if [ -n "${ZSH_VERSION-}" ] ; then
        _CUDAENV_HOOK=${precmd_functions+set}
        eval 'precmd_functions=(_cudaenv_sync "${precmd_functions[@]}")'
    elif [ -n "${BASH_VERSION-}" ] ; then
        _CUDAENV_HOOK=${PROMPT_COMMAND+set}
        PROMPT_COMMAND="_cudaenv_sync${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
    fi
}

_cudaenv_hook_off () {
    _cudaenv_unwrap hash
    _cudaenv_unwrap rehash
    if [ -z "${_CUDAENV_HOOK+_}" ] ; then return 0 ; fi
    if [ -n "${ZSH_VERSION-}" ] ; then
        eval 'precmd_functions=(${precmd_functions:#_cudaenv_sync})'
        if [ -z "$_CUDAENV_HOOK" ] && eval '[ ${#precmd_functions} -eq 0 ]' ; then
            unset -v precmd_functions
        fi
    elif [ -n "${BASH_VERSION-}" ] ; then
        _cudaenv_r_cut=';_cudaenv_sync;'
        _cudaenv_out=";${PROMPT_COMMAND-};"
        case $_cudaenv_out in
            *"$_cudaenv_r_cut"*)
                _cudaenv_out=${_cudaenv_out%%"$_cudaenv_r_cut"*}';'${_cudaenv_out#*"$_cudaenv_r_cut"}
                _cudaenv_out=${_cudaenv_out#';'}
                PROMPT_COMMAND=${_cudaenv_out%';'} ;;
        esac
        if [ -z "$_CUDAENV_HOOK" ] && [ -z "${PROMPT_COMMAND-}" ] ; then unset -v PROMPT_COMMAND ; fi
    fi
    unset -v _CUDAENV_HOOK
}

_cudaenv_tidy () {
    unset -v _cudaenv_out _cudaenv_p_rest _cudaenv_p_el _cudaenv_r_sep _cudaenv_r_todo \
        _cudaenv_r_one _cudaenv_r_cut _cudaenv_w _cudaenv_d _cudaenv_v _cudaenv_new _cudaenv_on \
        _cudaenv_old _cudaenv_add _cudaenv_q_todo _cudaenv_q_item _cudaenv_ve _cudaenv_lvl \
        _cudaenv_cp _cudaenv_l _cudaenv_rc _cudaenv_call _cudaenv_busy
}

_cudaenv_cleanup () {
    # No layer is left: take the hook and every function of this engine out of the shell.
    _cudaenv_hook_off
    _cudaenv_tidy
    unset -f _cudaenv_prepend _cudaenv_remove _cudaenv_was _cudaenv_set _cudaenv_put_back \
        _cudaenv_restore _cudaenv_where _cudaenv_on_top _cudaenv_drop _cudaenv_enter \
        _cudaenv_leave _cudaenv_sync _cudaenv_rehash _cudaenv_wrap _cudaenv_unwrap \
        _cudaenv_hook_on _cudaenv_hook_off _cudaenv_tidy _cudaenv_cleanup
}
# --- end of the engine -------------------------------------------------------------------------
