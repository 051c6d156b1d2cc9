"""kernel.kernels_dir: Jupyter's paths for kernel specs (jupyter_core's jupyter_data_dir on
Linux, and ``--prefix P`` as ``P/share/jupyter/kernels``)."""

from __future__ import annotations

from pathlib import Path

from cudaenv.activation.kernelspec import kernels_dir


def test_the_order_jupyter_uses() -> None:
    home = Path.home()
    assert kernels_dir(environ={}) == home / ".local/share/jupyter/kernels"
    assert kernels_dir(environ={"XDG_DATA_HOME": "/x"}) == Path("/x/jupyter/kernels")
    both = {"XDG_DATA_HOME": "/x", "JUPYTER_DATA_DIR": "/j"}
    assert kernels_dir(environ=both) == Path("/j/kernels")
    assert kernels_dir(Path("/opt/jl"), environ=both) == Path("/opt/jl/share/jupyter/kernels")
