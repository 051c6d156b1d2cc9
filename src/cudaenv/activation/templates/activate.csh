# Written by cudaenv in place of the venv's own bin/activate.csh, which would activate this
# environment without its CUDA libraries (TensorFlow would then run on the CPU without saying
# why). cudaenv's activation keeps and restores variables exactly, which csh and tcsh cannot do
# solidly, so this script changes nothing and says what to run instead.
{{ PRINT }}
