# cudaenv: sourced by `conda activate` in csh and tcsh. cudaenv's activation keeps and restores
# variables exactly, which csh and tcsh cannot do solidly, so this script changes nothing and
# says where to activate this environment instead (without it, TensorFlow would run on the CPU
# without saying why).
{{ PRINT }}
