# cudaenv: sourced by `conda deactivate` (fish) for this environment.
# Restores exactly what activate.d/cudaenv.fish changed: unset stays unset, unexported stays
# unexported, values come back. A cudaenv venv that was active below this environment is applied
# again as soon as conda has changed CONDA_PREFIX and CONDA_SHLVL (the engine watches both).

{{ ENGINE }}

_cudaenv_leave C {{ PREFIX }}
