"""cudaenv's start-up hook: the environment's NVIDIA libraries, whoever starts this Python.

cudaenv copies this file into an environment's site-packages as ``_cudaenv_preload.py``, with
the plan below filled in, beside ``_cudaenv_preload.pth``, whose one line calls
:func:`install` at interpreter start. That costs almost nothing: no framework is imported and
no library is loaded; a finder goes to the front of ``sys.meta_path`` and waits. On the first
import of a module the recipes mark CUDA-using (``MODULES``: ``tensorflow``, ``cupy`` ...), it
leaves ``sys.meta_path`` and, before that module runs, :func:`preload`:

- sets what activation sets for this process and its children (``CHANGES``: ``XLA_FLAGS``, the
  ptxas folder on ``PATH``), never replacing what the user set;
- loads every library of the environment's NVIDIA wheels by absolute path, dependencies first
  (``LIBRARIES``, in the order their ELF ``DT_NEEDED`` entries give). The dynamic loader then
  answers every later load by soname (a framework's ``dlopen("libcudart.so.12")``, an
  extension module's ``DT_NEEDED``) with the copy already loaded, whatever ``LD_LIBRARY_PATH``
  or the loader's cache hold. PyTorch's ``torch/__init__.py`` does the same for its own wheels.

So an environment works without activation: run by path from an IDE, cron or Slurm, in
multiprocessing's spawn and forkserver children, in a subprocess with a cleared environment, as
a Jupyter kernel registered with plain ``ipykernel install``. ``CUDAENV_NO_PRELOAD=1`` turns it
off. :func:`report` says what it did (``cudaenv doctor`` prints it): what it loaded, what failed
to load, and any library a copy from elsewhere answered to first (``LD_PRELOAD``, a module
imported before), which it then leaves alone.

Standalone on purpose, like the smoke probe: it runs on the environment's Python (3.8+),
imports nothing of cudaenv, only ``os`` and ``sys`` (already loaded at start) until it acts,
and it never raises into the import that woke it.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _thread import LockType
    from collections.abc import Mapping, MutableMapping, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

# --- the plan: filled in by cudaenv (cudaenv.preload.write_hook) ---
WRITTEN_BY = ""
MODULES: "frozenset[str]" = frozenset()
LIBRARIES: "tuple[tuple[str, str], ...]" = ()
CHANGES: "tuple[tuple[str, str, tuple[str, ...]], ...]" = ()
# --- end of the plan ---

OFF = "CUDAENV_NO_PRELOAD"
SITE = "{site}"  # in CHANGES: this file's folder, the environment's site-packages
_RTLD_NOLOAD = getattr(os, "RTLD_NOLOAD", 4)  # glibc's values, where os lacks them
_RTLD_DI_LINKMAP = 2

_state: "dict[str, object]" = {"installed": False, "done": False, "trigger": None}
_loaded: "list[tuple[str, str]]" = []  # (soname, path) loaded by this hook, or found there
_elsewhere: "list[tuple[str, str]]" = []  # (soname, path of the copy that answered first)
_failed: "list[tuple[str, str, str]]" = []  # (soname, path, error)
_changed: "list[tuple[str, str]]" = []  # (variable, value now)
_kept: "list[str]" = []  # variables the user had set, left as they were
_handles: "list[object]" = []  # the libraries stay loaded for the life of the process
_locks: "list[LockType]" = []  # the one lock preload takes, made by install


def disabled(environ: "Mapping[str, str]" = os.environ) -> bool:
    """True when ``CUDAENV_NO_PRELOAD`` is set to anything but ``0`` or nothing."""
    return environ.get(OFF, "") not in ("", "0")


def _here() -> str:
    return os.path.dirname(os.path.abspath(__file__))


class Finder:
    """A meta path finder that finds nothing itself: on the first import of a module in
    ``MODULES`` it leaves ``sys.meta_path``, runs :func:`preload`, and hands the import on."""

    def find_spec(
        self, name: str, path: "Sequence[str] | None" = None, target: "ModuleType | None" = None
    ) -> "ModuleSpec | None":
        if path is not None or name not in MODULES:
            return None
        preload(trigger=name)
        # The import system walks sys.meta_path while this finder leaves it, so the finder
        # after it could be skipped for this one module: ask the finders here instead.
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                return spec  # type: ignore[no-any-return]
        return None

    def invalidate_caches(self) -> None:
        """Nothing cached."""


_FINDER = Finder()


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (the ``.pth`` line calls this at start)."""
    if _state["installed"] or disabled() or not MODULES or not (LIBRARIES or CHANGES):
        return
    import _thread  # built in: costs nothing

    _locks.append(_thread.allocate_lock())
    _state["installed"] = True
    sys.meta_path.insert(0, _FINDER)


def _remove() -> None:
    while _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def preload(trigger: "str | None" = None) -> "dict[str, object]":
    """Set the variables and load the libraries, once per process; return :func:`report`."""
    lock = _locks[0] if _locks else None
    if lock is not None:
        lock.acquire()
    try:
        if not _state["done"] and not disabled():
            _state["done"], _state["trigger"] = True, trigger
            _remove()
            _act()
    finally:
        if lock is not None:
            lock.release()
    return report()


def _act() -> None:
    try:
        apply(os.environ, _here())
        _load_all(_here())
    except Exception as e:  # never into the import that woke the hook
        _failed.append(("", "", f"{type(e).__name__}: {e}"))


def _value(text: str, here: str) -> str:
    return text.replace(SITE, here)


def _flag_name(flag: str) -> str:
    return flag.split("=", 1)[0]


def apply(environ: "MutableMapping[str, str]", here: str) -> None:
    """Set ``CHANGES`` in ``environ`` without replacing what the user set: a plain value only
    if unset, a flag only if the user's flags lack one of that name, path elements in front
    only if absent (no empty element is ever made)."""
    for name, kind, values in CHANGES:
        ours = [_value(v, here) for v in values]
        old = environ.get(name)
        if kind == "set":
            new = ours[0] if old is None else old
        elif kind == "flags":
            theirs = (old or "").split()
            names = {_flag_name(f) for f in theirs}
            new = " ".join([f for f in ours if _flag_name(f) not in names] + theirs)
        else:  # an unset PATH means the default search path, which must stay searched
            base = os.defpath if old is None and name == "PATH" else old or ""
            elements = [e for e in base.split(":") if e]
            new = ":".join([e for e in ours if e not in elements] + elements)
        if new == (old or ""):
            _kept.append(name)
            continue
        environ[name] = new
        _changed.append((name, new))


class _Loader:
    """glibc's dlopen, dlerror and dlinfo through ctypes. ``ctypes.CDLL`` always binds every
    function at load (RTLD_NOW); the frameworks load these libraries with RTLD_LAZY, and so
    does this (cheaper, and a library whose functions only resolve once another is loaded
    still loads here, as it would for them)."""

    def __init__(self, ctypes: "ModuleType") -> None:
        self.ctypes = ctypes
        lib = ctypes.CDLL(None)
        if getattr(lib, "dlinfo", None) is None:  # glibc < 2.34 keeps them in libdl
            lib = ctypes.CDLL("libdl.so.2")
        self.dlopen = lib.dlopen
        self.dlopen.restype = ctypes.c_void_p
        self.dlopen.argtypes = (ctypes.c_char_p, ctypes.c_int)
        self.dlerror = lib.dlerror
        self.dlerror.restype = ctypes.c_char_p
        self.dlinfo = lib.dlinfo

        class LinkMap(ctypes.Structure):  # type: ignore[name-defined,misc]
            """The start of glibc's ``struct link_map``: the base address and the file."""

            _fields_ = (("l_addr", ctypes.c_void_p), ("l_name", ctypes.c_char_p))

        self.link_map = LinkMap

    def open(self, name: str, flags: int = 0) -> "int | None":
        handle = self.dlopen(os.fsencode(name), os.RTLD_LAZY | os.RTLD_LOCAL | flags)
        return int(handle) if handle else None

    def error(self) -> str:
        text = self.dlerror()
        return os.fsdecode(text) if text else "dlopen failed"

    def path_of(self, handle: int) -> "str | None":
        """The file a loaded library came from, if it can be told."""
        ctypes = self.ctypes
        entry = ctypes.POINTER(self.link_map)()
        if self.dlinfo(ctypes.c_void_p(handle), _RTLD_DI_LINKMAP, ctypes.byref(entry)) != 0:
            return None
        name = entry.contents.l_name if entry else None
        return os.fsdecode(name) if name else None

    def answering(self, soname: str) -> "str | None":
        """The file of the loaded library that already answers to ``soname``, if one does."""
        handle = self.open(soname, _RTLD_NOLOAD)
        return None if handle is None else self.path_of(handle) or soname


def _load_all(here: str) -> None:
    import ctypes

    loader = _Loader(ctypes)
    for soname, relative in LIBRARIES:
        path = os.path.normpath(os.path.join(here, relative))
        first = loader.answering(soname)
        if first is not None:
            same = os.path.exists(first) and os.path.samefile(first, path)
            (_loaded if same else _elsewhere).append((soname, first))
            continue
        handle = loader.open(path)
        if handle is None:
            _failed.append((soname, path, loader.error()))
        else:
            _handles.append(handle)
            _loaded.append((soname, path))


def report() -> "dict[str, object]":
    """What the hook is and did in this process (plain data, for JSON)."""
    return {
        "written_by": WRITTEN_BY,
        "disabled": disabled(),
        "installed": _state["installed"],
        "done": _state["done"],
        "trigger": _state["trigger"],
        "planned": len(LIBRARIES),
        "loaded": [list(x) for x in _loaded],
        "elsewhere": [list(x) for x in _elsewhere],
        "failed": [list(x) for x in _failed],
        "changed": [list(x) for x in _changed],
        "kept": list(_kept),
    }
