"""``scripts/gpu-check``: one prepared command that shows, on a real NVIDIA GPU, every GPU path
cudaenv has, and writes what it found to one folder.

A GPU machine is lent now and then, for minutes, with no network; so the check is prepared here
(:mod:`.carry`: ``--prepare DIR`` downloads what the machine lacks) and run there in one call
(:mod:`.main`). The modules:

- :mod:`.main`: the command line, the two stages (any ``python3``, then cudaenv's own), the order
  of the checks and the time budget;
- :mod:`.carry`: the carried wheels, packed small here and rebuilt there;
- :mod:`.repack`: wheels made from distributions installed on the machine (its NVIDIA libraries,
  CuPy, NumPy), so nothing large has to travel;
- :mod:`.steps`: each check, running cudaenv's commands as a user runs them;
- :mod:`.judge`: pure functions that decide what passed, from the commands' JSON;
- :mod:`.report`: the report (``report.json``, ``summary.txt``, ``log.txt``), written after every
  check so that a run cut short still leaves what it found;
- ``libcheck.py``: run inside an environment (standard library only): which file each CUDA
  library loads from, ``cuInit`` through the driver's ``libcuda.so.1``, CuPy on the device.
"""
