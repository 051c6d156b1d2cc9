"""Where environments are made: the :data:`BACKENDS` registry and :func:`find_backend`.

A backend is registered by one line in ``_REGISTRY``: its name and the ``module:Class`` that
implements it. Modules are imported only when their backend is asked for, so ``cudaenv --help``
never imports a backend, and a backend whose module is absent is reported, not crashed on.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from cudaenv.envs.base import INCOMPLETE_MARKER, MARKER, Env, EnvBackend, Terminated
from cudaenv.errors import UsageError

__all__ = [
    "BACKENDS",
    "INCOMPLETE_MARKER",
    "MARKER",
    "Env",
    "EnvBackend",
    "Terminated",
    "find_backend",
]

# name -> "module:Class". Adding a backend is one line here.
_REGISTRY: dict[str, str] = {
    "venv": "cudaenv.envs.venv:VenvBackend",
    "conda": "cudaenv.envs.conda:CondaBackend",
    "mamba": "cudaenv.envs.conda:MambaBackend",
    "micromamba": "cudaenv.envs.conda:MicromambaBackend",
}


class _LazyBackends(Mapping[str, type[EnvBackend]]):
    """A read-only mapping that imports a backend's module on first lookup."""

    def __getitem__(self, name: str) -> type[EnvBackend]:
        module, _, cls = _REGISTRY[name].partition(":")
        backend: type[EnvBackend] = getattr(importlib.import_module(module), cls)
        return backend

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)


BACKENDS: Mapping[str, type[EnvBackend]] = _LazyBackends()


def find_backend(name: str = "venv", **options: object) -> EnvBackend:
    """An instance of the backend called ``name`` ("auto" is venv); options go to its class."""
    key = "venv" if name == "auto" else name
    if key not in _REGISTRY:
        raise UsageError(
            f"unknown environment backend {name!r}",
            hint=f"choose one of: {', '.join(sorted(_REGISTRY))}",
        )
    return BACKENDS[key](**options)
