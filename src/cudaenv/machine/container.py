"""Hints about running in a container, where "no GPU" usually means "started without one".

A container sees the host's GPU only when the NVIDIA Container Toolkit mounts the device nodes
and driver libraries into it (``docker run --gpus all``); without that, nothing inside can fix
it, and the hint must say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cudaenv.machine.probes import Host

__all__ = ["NO_GPU_IN_CONTAINER", "container_hints"]

NO_GPU_IN_CONTAINER = (
    "the container was started without the GPU (no /dev/nvidia* inside): "
    "use `docker run --gpus all` / the NVIDIA Container Toolkit"
)
_CGROUP_WORDS = ("docker", "kubepods", "containerd", "libpod", "lxc")


def container_hints(host: Host) -> tuple[str, ...]:
    """What says this is a container, and what the NVIDIA Container Toolkit was told."""
    signs = _signs(host)
    hints = [f"running in a container ({', '.join(signs)})"] if signs else []
    hints += _toolkit(host.environ)
    if signs and not _has_gpu_nodes(host):
        hints.append(NO_GPU_IN_CONTAINER)
    return tuple(hints)


def _signs(host: Host) -> list[str]:
    signs = [
        f"/{name} exists"
        for name in (".dockerenv", "run/.containerenv")
        if (host.root / name).exists()
    ]
    try:
        cgroup = (host.root / "proc/1/cgroup").read_text(errors="replace")
    except OSError:
        cgroup = ""
    signs += [f"cgroup mentions {word}" for word in _CGROUP_WORDS if word in cgroup]
    return signs


def _has_gpu_nodes(host: Host) -> bool:
    try:
        return any((host.root / "dev").glob("nvidia[0-9]*"))
    except OSError:
        return False


def _toolkit(env: Mapping[str, str]) -> list[str]:
    hints = []
    visible = env.get("NVIDIA_VISIBLE_DEVICES")
    if visible is not None:
        if visible.strip() in ("", "void", "none"):
            hints.append(
                f"NVIDIA_VISIBLE_DEVICES={visible!r}: the NVIDIA Container Toolkit "
                "exposes no GPU to this container"
            )
        else:
            hints.append(
                f"NVIDIA_VISIBLE_DEVICES={visible}: GPUs asked of the NVIDIA Container Toolkit"
            )
    caps = env.get("NVIDIA_DRIVER_CAPABILITIES")
    if caps is not None:
        names = {c.strip() for c in caps.split(",")}
        if not names & {"compute", "all"}:
            hints.append(
                f"NVIDIA_DRIVER_CAPABILITIES={caps!r} lacks 'compute': CUDA cannot run; "
                "start the container with NVIDIA_DRIVER_CAPABILITIES=compute,utility"
            )
    return hints
