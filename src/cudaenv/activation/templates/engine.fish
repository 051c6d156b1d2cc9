# --- cudaenv's activation engine (the same text in every cudaenv script) -----------------------
# An environment cudaenv made is a layer: V, the venv activated with bin/activate.fish, or C, the
# conda environment activated with `conda activate`. Only the layer on top is applied. Applying
# saves, for each variable it changes, whether it was unset, global (exported or not) or only
# universal, and its value; restoring gives back exactly that while the variable still holds what
# activation set, and otherwise (it was changed since) removes only the elements activation
# added. A layer covered by another environment (conda activated over the venv, a venv over
# conda) is restored, and applied again once it is on top again; a layer whose environment is
# gone is restored and forgotten: a stock venv's activate.fish never calls cudaenv's deactivate (it
# defines its own first), so that check runs whenever VIRTUAL_ENV, CONDA_PREFIX or CONDA_SHLVL
# changes. State, in global variables that are never exported: _CUDAENV_ACTIVE (the applied
# layer), _CUDAENV_V and _CUDAENV_C (the layers' prefixes), _CUDAENV_V_LVL and _CUDAENV_V_CTX
# (CONDA_SHLVL and CONDA_PREFIX when V was entered), _CUDAENV_C_CTX (VIRTUAL_ENV when C was
# entered), _CUDAENV_VARS (kind:NAME for each variable changed), _CUDAENV_<NAME>_WAS (u, s, x or
# U), _CUDAENV_<NAME>_OLD, _CUDAENV_<NAME>_NEW and _CUDAENV_<NAME>_ADD.

function _cudaenv_prepend -a sep ours old
    # _cudaenv_out: OURS, then each element of OLD that is neither empty (an empty element of a
    # path list means "the current directory") nor already there.
    set -g _cudaenv_out $ours
    for el in (string split -- $sep $old)
        if test -n "$el"; and not contains -- $el (string split -- $sep "$_cudaenv_out")
            set _cudaenv_out "$_cudaenv_out$sep$el"
        end
    end
end

function _cudaenv_remove -a kind add value
    # _cudaenv_out: VALUE without the elements of ADD (path: each element of the ':' list ADD;
    # flags: ADD as one element); every other byte of VALUE is kept.
    set -l sep ' '
    set -l drop $add
    if test $kind = path
        set sep :
        set drop (string split -- : $add)
    end
    set -l out "$sep$value$sep"
    for one in $drop
        test -n "$one"; or continue
        while true
            set -l next (string replace -- "$sep$one$sep" "$sep" "$out")
            test "$next" = "$out"; and break
            set out "$next"
        end
    end
    set -g _cudaenv_out (string sub -s 2 -e -1 -- "$out")
end

function _cudaenv_set -a kind name ours
    # Save NAME, then set and export it: OURS (kind set), or OURS followed by its old elements
    # (path, flags). Elements of OURS already there are moved, never kept twice, so a restore
    # never brings this environment's folders back.
    set -l was u
    if set -qg $name
        set was s
        set -qx $name; and set was x
    else if set -q $name
        set was U
    end
    set -g _CUDAENV_{$name}_WAS $was
    set -g _CUDAENV_{$name}_OLD $$name
    set -l new $ours
    if test $kind != set
        set -l sep ' '
        test $kind = path; and set sep :
        _cudaenv_remove $kind "$ours" "$$name"
        if test "$_cudaenv_out" != "$$name"
            set -g _CUDAENV_{$name}_OLD (string split -- $sep "$_cudaenv_out")
        end
        _cudaenv_prepend $sep "$ours" "$_cudaenv_out"
        set new $_cudaenv_out
    end
    if test $kind = path
        set -gx --path $name (string split -- : "$new")
    else
        set -gx --unpath $name "$new"
    end
    set -g _CUDAENV_{$name}_NEW "$$name"
    set -g _CUDAENV_{$name}_ADD $ours
    set -g -a _CUDAENV_VARS $kind:$name
end

function _cudaenv_put_back -a kind name
    # Undo _cudaenv_set KIND NAME.
    set -l was _CUDAENV_{$name}_WAS
    set -l old _CUDAENV_{$name}_OLD
    set -l new _CUDAENV_{$name}_NEW
    set -l add _CUDAENV_{$name}_ADD
    if set -q $name; and test "$$name" = "$$new"
        switch "$$was"
            case x
                set -gx $name $$old
            case s
                set -gu $name $$old
            case '*'
                set -e -g $name
        end
    else if set -q $name; and test $kind != set
        _cudaenv_remove $kind "$$add" "$$name"
        if test -z "$_cudaenv_out"; and test "$$was" = u
            set -e -g $name
        else if test "$_cudaenv_out" != "$$name"
            if test $kind = path
                set -g --path $name (string split -- : "$_cudaenv_out")
            else
                set -g $name "$_cudaenv_out"
            end
        end
    end
    set -e -g $was
    set -e -g $old
    set -e -g $new
    set -e -g $add
end

function _cudaenv_restore
    # Put back every variable the applied layer changed; then no layer is applied.
    for item in $_CUDAENV_VARS
        set -l parts (string split -m 1 -- : $item)
        _cudaenv_put_back $parts[1] $parts[2]
    end
    set -e -g _CUDAENV_VARS
    set -e -g _CUDAENV_ACTIVE
end

function _cudaenv_level
    # CONDA_SHLVL as a number (0 when unset or not a number)
    if string match -qr '^[0-9]+$' -- "$CONDA_SHLVL"
        echo $CONDA_SHLVL
    else
        echo 0
    end
end

function _cudaenv_on_top -a layer
    # Is LAYER's environment the one on top?
    if test $layer = V
        set -q _CUDAENV_V; or return 1
        set -l lvl (_cudaenv_level)
        test $lvl -lt $_CUDAENV_V_LVL; and return 0
        test $lvl -eq $_CUDAENV_V_LVL; and test "$CONDA_PREFIX" = "$_CUDAENV_V_CTX"
    else
        # C stays on top while no venv is active or the venv below it still is
        set -q _CUDAENV_C; or return 1
        test -z "$VIRTUAL_ENV"; or test "$VIRTUAL_ENV" = "$_CUDAENV_C_CTX"
    end
end

function _cudaenv_drop -a layer
    # Restore LAYER if it is applied, and forget it.
    test "$_CUDAENV_ACTIVE" = $layer; and _cudaenv_restore
    if test $layer = V
        set -e -g _CUDAENV_V
        set -e -g _CUDAENV_V_LVL
        set -e -g _CUDAENV_V_CTX
    else
        set -e -g _CUDAENV_C
        set -e -g _CUDAENV_C_CTX
    end
    functions -e _cudaenv_apply_$layer
end

function _cudaenv_enter -a layer prefix
    # LAYER (its _cudaenv_apply_LAYER just defined) goes on top and is applied.
    set -l own (set -q _cudaenv_busy; or echo 1)
    set -g _cudaenv_busy 1
    set -q _CUDAENV_ACTIVE; and _cudaenv_restore
    if test $layer = V
        set -g _CUDAENV_V $prefix
        set -g _CUDAENV_V_LVL (_cudaenv_level)
        set -g _CUDAENV_V_CTX "$CONDA_PREFIX"
        if set -q _CUDAENV_C; and test "$CONDA_PREFIX" != "$_CUDAENV_C"
            _cudaenv_drop C
        end
    else
        set -g _CUDAENV_C $prefix
        set -g _CUDAENV_C_CTX "$VIRTUAL_ENV"
        if set -q _CUDAENV_V; and test "$VIRTUAL_ENV" != "$_CUDAENV_V"
            _cudaenv_drop V
        end
    end
    _cudaenv_apply_$layer
    set -q own[1]; and set -e -g _cudaenv_busy
end

function _cudaenv_leave -a layer prefix
    # The environment PREFIX is being left: restore and forget its layer, then apply whichever
    # layer is on top now.
    set -l mine _CUDAENV_$layer
    if set -q $mine; and test "$$mine" = "$prefix"
        _cudaenv_drop $layer
    end
    _cudaenv_sync
end

function _cudaenv_sync
    # Forget layers whose environment is gone, restore a covered one, apply one on top again.
    set -l own (set -q _cudaenv_busy; or echo 1)
    set -g _cudaenv_busy 1
    if set -q _CUDAENV_V; and test "$VIRTUAL_ENV" != "$_CUDAENV_V"
        _cudaenv_drop V
    end
    if set -q _CUDAENV_C; and test "$CONDA_PREFIX" != "$_CUDAENV_C"
        _cudaenv_drop C
    end
    if set -q _CUDAENV_ACTIVE; and not _cudaenv_on_top $_CUDAENV_ACTIVE
        _cudaenv_restore
    end
    if not set -q _CUDAENV_ACTIVE
        if _cudaenv_on_top V
            _cudaenv_apply_V
        else if _cudaenv_on_top C
            _cudaenv_apply_C
        end
    end
    set -q own[1]; and set -e -g _cudaenv_busy
    if not set -q _CUDAENV_V; and not set -q _CUDAENV_C
        _cudaenv_cleanup
    end
end

function _cudaenv_watch --on-variable VIRTUAL_ENV --on-variable CONDA_PREFIX --on-variable CONDA_SHLVL
    set -l rc $status
    set -q _cudaenv_busy; or _cudaenv_sync
    return $rc
end

function _cudaenv_cleanup
    # No layer is left: take every function of this engine out of the shell.
    set -e -g _cudaenv_out
    functions -e _cudaenv_prepend _cudaenv_remove _cudaenv_set _cudaenv_put_back _cudaenv_restore \
        _cudaenv_level _cudaenv_on_top _cudaenv_drop _cudaenv_enter _cudaenv_leave _cudaenv_sync \
        _cudaenv_watch _cudaenv_cleanup
end
# --- end of the engine -------------------------------------------------------------------------
