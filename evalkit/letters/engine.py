"""A papermill engine that keeps one kernel warm and resets it completely between notebooks.

Starting a kernel costs about 0.6 s and re-importing the letter's libraries as much again, so papermill's default
engine spends most of a letter's time on kernel start-up. :class:`WarmKernelEngine` (registered as the papermill
engine ``evalkit_warm``) runs every notebook of a process on one long-lived kernel, with one client, so no file
descriptor or thread is leaked per notebook (papermill's ``km=`` argument leaks a client per call). Kernels talk
over IPC sockets in a private folder (no TCP port to race for when several workers start at once), keep no
history database and no output cache.

Reusing a kernel must not let one candidate's letter see anything of the previous one. After every notebook the
kernel is reset and checked:

* the user namespace, ``In``/``Out`` and the execution counter are cleared (``InteractiveShell.reset``): the next
  notebook's cells are numbered from 1 as on a new kernel;
* every module of the packages in ``fresh_packages`` (``evalkit``) is dropped from ``sys.modules``, so the next
  notebook imports them anew: caches and any other module state of evalkit cannot carry over (their compiled code
  is kept, being immutable, so the re-import costs a few milliseconds);
* the kernel's process state is fingerprinted and compared with the fingerprint taken after the warm-up: the set
  of imported modules, the global names of every module (a monkey-patched function or a set flag rebinds one),
  builtins, threads, working directory, environment, ``sys.path`` and import hooks, warning filters, standard
  streams and hooks, IPython event callbacks, input/AST transformers, display formatters and magics.

Any difference (the notebook imported something new, started a thread, registered a formatter...), a failed cell,
a timeout or a dead kernel retires the kernel: the next notebook gets a new process. The check costs about
10 ms; a restart costs what papermill's default engine pays for every notebook. Not detected: changes made in
place inside objects of libraries imported before the baseline (an attribute of a class, an entry of a library's
internal dict); the letter template does not do that, and a template that imports anything new gets a new
kernel after it.

Use::

    papermill.execute_notebook(src, dst, parameters, engine_name="evalkit_warm",
                               warm_kernel=WarmKernel(preload=["evalkit.letters.content"]))

Without ``warm_kernel`` the engine uses one kernel per process (created on first use, shut down at exit).
"""
from __future__ import annotations

import ast
import atexit
import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError

from ..outputs import process_running

__all__ = ["WarmKernel", "WarmKernelEngine", "KernelResetError", "IGNORED_GLOBALS"]


class KernelResetError(RuntimeError):
    """The kernel could not be started, warmed up or reset."""


# Runs inside the kernel, in a private module that survives the namespace reset. Kept as source text so that the
# kernel needs nothing importable from this package to reset itself.
_KERNEL_SIDE = r'''
import builtins, gc, hashlib, os, sys, threading, warnings
from IPython import get_ipython

_baseline = None
_fresh = ()
_ignored = {}


def _is_fresh(name):
    return any(name == p or name.startswith(p + ".") for p in _fresh)


def _digest(value):
    return hashlib.sha1(repr(value).encode("utf-8", "backslashreplace")).hexdigest()


def _module_globals():
    out = {}
    for name, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)
        if name not in ("__main__", __name__) and not _is_fresh(name) and isinstance(namespace, dict):
            skip = _ignored.get(name, ("__warningregistry__",))
            out[name] = hash(frozenset((k, id(v)) for k, v in list(namespace.items()) if k not in skip))
    return out


def fingerprint():
    ip = get_ipython()
    formatters = ip.display_formatter.formatters
    return {
        "module globals": _module_globals(),
        "builtins": _digest(sorted((k, id(v)) for k, v in vars(builtins).items())),
        "threads": _digest(sorted(t.ident for t in threading.enumerate())),
        "working directory": _digest(os.getcwd()),
        "environment": _digest(sorted(os.environ.items())),
        "sys.path or import hooks": _digest([sys.path, [id(f) for f in sys.meta_path],
                                             [id(h) for h in sys.path_hooks]]),
        "warning filters": _digest(warnings.filters),
        "standard streams or hooks": _digest([id(sys.stdout), id(sys.stderr), id(sys.stdin), id(sys.displayhook),
                                              id(sys.excepthook), id(sys.breakpointhook)]),
        "IPython events": _digest(sorted((k, [id(f) for f in v]) for k, v in ip.events.callbacks.items())),
        "input transformers": _digest([[id(t) for t in ip.input_transformers_post],
                                       [id(t) for t in ip.input_transformer_manager.cleanup_transforms],
                                       [id(t) for t in ip.input_transformer_manager.line_transforms],
                                       [id(t) for t in ip.ast_transformers], id(ip.CustomTB), ip.custom_exceptions]),
        "display formatters": _digest(sorted((k, sorted(map(id, f.type_printers)), sorted(f.deferred_printers),
                                              sorted(f.singleton_printers)) for k, f in formatters.items())),
        "magics": _digest(sorted((k, sorted(v)) for k, v in ip.magics_manager.magics.items())),
    }


def _clear():
    get_ipython().reset(new_session=True)
    for name in [n for n in sys.modules if _is_fresh(n)]:
        del sys.modules[name]
    gc.collect(1)  # the young objects of the last notebook; a full collection would cost ~40 ms


def _cache_fresh_code():
    # The fresh packages are imported again by every notebook. Their compiled code objects are immutable, so they
    # are kept (by file, modification time and size) and only the module bodies run again: without bytecode files
    # (PYTHONDONTWRITEBYTECODE) every import would compile the sources anew.
    from importlib.machinery import SourceFileLoader
    original = SourceFileLoader.get_code
    cache = {}

    def get_code(self, fullname):
        if not _is_fresh(fullname):
            return original(self, fullname)
        stat = os.stat(self.path)
        key = (self.path, stat.st_mtime_ns, stat.st_size)
        if key not in cache:
            cache[key] = original(self, fullname)
        return cache[key]

    SourceFileLoader.get_code = get_code


def configure(fresh, ignored):
    global _fresh, _ignored
    _fresh = tuple(fresh)
    _ignored = {}
    for name in ignored:
        module, _, attribute = name.rpartition(".")
        _ignored.setdefault(module, {"__warningregistry__"}).add(attribute)
    _cache_fresh_code()


def warm_up(preload):
    # Import what every notebook needs, then take the baseline that later resets are compared with.
    global _baseline
    import importlib
    for name in preload:
        importlib.import_module(name)
    _clear()
    _baseline = fingerprint()


def _names(items):
    items = sorted(items)
    return ", ".join(items[:5]) + (" ..." if len(items) > 5 else "")


def reset():
    # Clear the namespace and the fresh packages; return what differs from the warm baseline.
    _clear()
    now = fingerprint()
    changed = [k for k, v in now.items() if k != "module globals" and _baseline[k] != v]
    before, after = _baseline["module globals"], now["module globals"]
    if set(after) - set(before):
        changed.append("imported " + _names(set(after) - set(before)))
    altered = [m for m in before if m in after and after[m] != before[m]]
    if altered:
        changed.append("globals of " + _names(altered))
    return changed
'''

_SIDE_MODULE = "_evalkit_warm_kernel"

#: Module globals that legitimately change in every notebook: SQLAlchemy numbers each Column it creates with a
#: global counter, and every notebook re-imports evalkit's schema. Counters carry nothing of a notebook's data.
IGNORED_GLOBALS = ("sqlalchemy.util.langhelpers._creation_order",)


class _ThisPython(KernelSpecManager):
    """Kernels run on the interpreter that runs the batch, whatever other ``python3`` kernelspec is installed."""

    def get_kernel_spec(self, kernel_name):
        return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                          display_name=f"Python {sys.version_info.major}.{sys.version_info.minor} (evalkit)",
                          language="python", resource_dir="", metadata={})


_SOCKET_PREFIX = "evalkit-kernel-"


def _remove_orphaned_socket_dirs() -> None:
    """Remove the kernel socket folders (``evalkit-kernel-<pid>-*`` in the temporary folder) of evalkit processes
    that died without cleaning up (``kill -9``); those of live processes and of other users stay."""
    for entry in Path(tempfile.gettempdir()).glob(f"{_SOCKET_PREFIX}*-*"):
        pid = entry.name[len(_SOCKET_PREFIX):].split("-", 1)[0]
        try:
            mine = entry.is_dir() and entry.stat().st_uid == os.getuid()
        except OSError:
            continue
        if mine and pid.isdigit() and not process_running(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


class WarmKernel:
    """One long-lived kernel with its client, reset and verified between notebooks.

    Parameters
    ----------
    preload : sequence of str
        Modules every notebook imports, imported once at warm-up so that a notebook importing them does not count
        as a change. Modules of ``fresh_packages`` are dropped again after warm-up and re-imported by each notebook.
    warm_up_code : str, optional
        Code run after the imports, before the baseline is taken: it should do what a notebook does, on neutral
        data, so that modules imported lazily on first use belong to the baseline.
    fresh_packages : sequence of str
        Packages whose modules are dropped after every notebook.
    ignore_globals : sequence of str
        Dotted names of module globals that may change without retiring the kernel (default
        :data:`IGNORED_GLOBALS`).
    startup_timeout : float
        Seconds to wait for a new kernel.
    """

    def __init__(self, preload=(), warm_up_code: str = "", fresh_packages=("evalkit",),
                 ignore_globals=IGNORED_GLOBALS, startup_timeout: float = 60):
        self.preload = list(preload)
        self.ignore_globals = list(ignore_globals)
        self.warm_up_code = warm_up_code
        self.fresh_packages = list(fresh_packages)
        self.startup_timeout = startup_timeout
        self.km: AsyncKernelManager | None = None
        self.kc = None
        self._socket_dir: str | None = None
        self.retire_reason: str | None = None
        self._ready = False
        #: Counters for reports and benchmarks: kernels started, notebooks run, why kernels were retired.
        self.starts = 0
        self.runs = 0
        self.retirements: list[str] = []

    # --- lifecycle ---------------------------------------------------------------------------------------

    def launch(self) -> None:
        """Start a kernel process (if none is usable) without waiting for it: the caller can do other work while
        it boots. :meth:`ensure_ready` waits for it."""
        run_sync(self._launch)()

    def ensure_ready(self) -> None:
        """Start (or replace a retired) kernel, warmed up and with its baseline taken."""
        run_sync(self._ensure_ready)()

    def _usable(self) -> bool:
        return self.km is not None and self.retire_reason is None

    async def _launch(self) -> None:
        if self._usable():
            return
        await self._shutdown()
        # IPC sockets and the connection file (with its key) in a private folder: no TCP port to race for when
        # several workers start kernels at once, nothing reachable from other users, one folder to remove.
        _remove_orphaned_socket_dirs()
        self._socket_dir = tempfile.mkdtemp(prefix=f"{_SOCKET_PREFIX}{os.getpid()}-")
        self.km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=_ThisPython(), transport="ipc",
                                     ip=os.path.join(self._socket_dir, "kernel"),
                                     connection_file=os.path.join(self._socket_dir, "connection.json"))
        # No history database (letters' code and parameters are not kept in ~/.ipython) and no output cache
        # (``Out``, ``_``): the kernel holds nothing of a notebook once its namespace is cleared.
        await self.km.start_kernel(extra_arguments=["--HistoryManager.enabled=False",
                                                    "--InteractiveShell.cache_size=0"])
        self.kc = self.km.client()
        self.kc.start_channels()
        self.retire_reason = None
        self._ready = False

    async def _ensure_ready(self) -> None:
        if self._usable() and self._ready and await self.km.is_alive():
            return
        if not (self._usable() and await self.km.is_alive()):
            await self._launch()
        try:
            await self.kc.wait_for_ready(timeout=self.startup_timeout)
        except RuntimeError as exc:
            await self._shutdown()
            raise KernelResetError(f"the kernel did not start: {exc}") from None
        self.kc.allow_stdin = False
        self.starts += 1
        setup = (f"import sys as _s, types as _t\n_m = _t.ModuleType({_SIDE_MODULE!r})\n"
                 f"exec({_KERNEL_SIDE!r}, _m.__dict__)\n_s.modules[{_SIDE_MODULE!r}] = _m\n"
                 f"_m.configure({self.fresh_packages!r}, {self.ignore_globals!r})\ndel _s, _t, _m\n"
                 f"{self.warm_up_code}\n")
        # The baseline is taken the way every reset is run: as a user expression, outside any cell.
        try:
            await self._evaluate(setup, f"__import__({_SIDE_MODULE!r}).warm_up({self.preload!r})", "warm-up")
        except KernelResetError:
            self.retire("the warm-up failed")
            raise
        self._ready = True

    def after_notebook(self, failed: bool) -> list[str]:
        """Reset the kernel after a notebook; returns why it was retired (empty: it is clean and reusable)."""
        if failed:
            return self.retire("a cell failed")
        try:
            changed = run_sync(self._evaluate)("", f"__import__({_SIDE_MODULE!r}).reset()", "reset")
        except KernelResetError as exc:
            return self.retire(str(exc))
        if changed:
            return self.retire("the notebook changed " + ", ".join(changed))
        return []

    def retire(self, reason: str) -> list[str]:
        """Mark the kernel unusable; the next :meth:`ensure_ready` replaces it."""
        self.retire_reason = reason
        self.retirements.append(reason)
        return [reason]

    def shutdown(self) -> None:
        run_sync(self._shutdown)()

    def kill_now(self) -> None:
        """Kill the kernel process and remove its sockets at once, without messaging: safe from any thread (the
        last act of a worker whose batch was killed)."""
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
        if self._socket_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    async def _shutdown(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            try:
                if self.km.has_kernel:
                    await self.km.shutdown_kernel(now=True)
            finally:
                await self.km.cleanup_resources()
        if self._socket_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
        self.km = self.kc = self._socket_dir = None
        self._ready = False

    def __enter__(self) -> "WarmKernel":
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    async def _evaluate(self, code: str, expression: str, what: str, timeout: float = 120):
        """Run code in the kernel and return the value of a JSON-serialisable expression evaluated after it.

        Code is run as a notebook cell is (not silently), so that whatever IPython sets up on a first cell is
        part of the warm-up; the outputs are discarded.
        """
        reply = await self.kc.execute_interactive(
            code, silent=not code, store_history=bool(code), timeout=timeout, output_hook=lambda msg: None,
            user_expressions={"out": f"__import__('json').dumps({expression})"})
        content = reply["content"]
        result = content.get("user_expressions", {}).get("out", {})
        if content["status"] != "ok" or result.get("status") != "ok":
            failed = content if content["status"] != "ok" else result
            raise KernelResetError(f"kernel {what} failed: {failed.get('ename')}: {failed.get('evalue')}")
        return json.loads(ast.literal_eval(result["data"]["text/plain"]))


_default_kernel: WarmKernel | None = None


def _process_kernel() -> WarmKernel:
    global _default_kernel
    if _default_kernel is None:
        _default_kernel = WarmKernel()
        atexit.register(_default_kernel.shutdown)
    return _default_kernel


class WarmKernelEngine:
    """Papermill engine ``evalkit_warm``: execute on a :class:`WarmKernel` instead of a new kernel per notebook.

    Extra keyword arguments to :func:`papermill.execute_notebook`: ``warm_kernel`` (the kernel to use; default one
    per process) and ``execution_timeout`` (seconds per cell).

    It implements papermill's engine interface without inheriting from ``papermill.engines.Engine`` at import
    time: papermill imports this module through its entry point while it is itself being imported.
    """

    @classmethod
    def execute_notebook(cls, nb, kernel_name, **kwargs):
        from papermill.engines import Engine
        return Engine.execute_notebook.__func__(cls, nb, kernel_name, **kwargs)

    @classmethod
    def nb_kernel_name(cls, nb, name=None):
        from papermill.utils import nb_kernel_name
        return nb_kernel_name(nb, name)

    @classmethod
    def nb_language(cls, nb, language=None):
        from papermill.utils import nb_language
        return nb_language(nb, language)

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                 start_timeout=60, execution_timeout=None, warm_kernel=None, **kwargs):
        from papermill.clientwrap import PapermillNotebookClient
        from papermill.log import logger
        from papermill.utils import merge_kwargs, remove_args

        kernel = warm_kernel or _process_kernel()
        kernel.ensure_ready()
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        client = PapermillNotebookClient(nb_man, km=kernel.km, **merge_kwargs(
            kwargs, timeout=execution_timeout, startup_timeout=start_timeout, kernel_name=kernel_name, log=logger,
            log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file))
        client.kc = kernel.kc  # nbclient would otherwise open (and never close) a new client per notebook
        kernel.runs += 1
        try:
            nb = client.execute(cleanup_kc=False)
        except BaseException as exc:  # a dead kernel, a timeout, an interrupt: its state is unknown
            kernel.retire("the kernel died" if isinstance(exc, DeadKernelError) else f"{type(exc).__name__}")
            raise
        kernel.after_notebook(failed=any(cell.get("metadata", {}).get("papermill", {}).get("exception")
                                         for cell in nb.cells))
        return nb
