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
  notebook's cells are numbered from 1 as on a new kernel; the per-notebook caches (:data:`CLEARED_CACHES`, memos
  keyed by a letter's own dates) are emptied;
* evalkit stays loaded, with its caches of configuration (programs, rubrics, compiled templates, the store a
  batch keeps open), filled by the warm-up: re-importing it for every letter cost ~90 ms and threw them away. Its
  state is checked in depth: every container, lru cache, function, class and instance its modules hold (to four
  steps from a module global) must hold the same objects as after the warm-up, so a letter that adds an entry to
  a dict, sets a class attribute or fills a cache is found;
* the kernel's process state is compared with the baseline taken after the warm-up: the set of imported modules,
  the global names of every module and what each is bound to (a monkey-patched function or a set flag rebinds
  one; the baseline's objects are held, so that no new object can take the identity of one of them), builtins,
  threads, working directory, environment, ``sys.path`` and import hooks, warning filters, standard streams and
  hooks, IPython event callbacks, input/AST transformers, display formatters and magics.

Any difference (the notebook imported something new, started a thread, registered a formatter, changed evalkit...),
a failed cell, a timeout or a dead kernel retires the kernel: the next notebook gets a new process. The reset is
evaluated with the notebook's last cell (a user expression of the same request), so it costs no round trip of its
own; the check takes a few milliseconds (the module globals are compared as flat lists at C speed). A restart
costs what papermill's default engine pays for every notebook. Not detected: changes made in place inside objects
of other libraries imported before the baseline (an attribute of a class, an entry of a library's internal dict),
or deeper than four steps inside evalkit's; the letter template does none of that.

Papermill's ``parameters`` cell is not run when it only assigns defaults that the injected cell assigns again
(one round trip less); the record shows it unexecuted.

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

from ..outputs import process_running

__all__ = ["WarmKernel", "WarmKernelEngine", "KernelResetError", "IGNORED_GLOBALS"]


class KernelResetError(RuntimeError):
    """The kernel could not be started, warmed up or reset."""


# Runs inside the kernel, in a private module that survives the namespace reset. Kept as source text so that the
# kernel needs nothing importable from this package to reset itself.
_KERNEL_SIDE = r'''
import builtins, collections, functools, gc, hashlib, itertools, operator, os, sys, threading, types, warnings
from IPython import get_ipython

_baseline = None  # the fingerprint after the warm-up
# The baseline's module globals, flat: module names, global names, their values (held, so that no other object
# can take the identity of one of them while they are compared with).
_flat = None
_watched = []  # (object, what it holds, module) of the checked packages' state at the baseline (held likewise)
_owners = {}  # identity of an object a checked module's global is bound to: those modules
_fresh = ()
_checked = ()
_caches = ()
_ignored = {}
_SKIP = frozenset({"__warningregistry__"})
_DEPTH = 4
_LRU = type(functools.lru_cache()(lambda: None))
_SCALARS = (str, bytes, int, float, complex, bool, type(None), range, types.ModuleType)


def _within(name, packages):
    return any(name == p or name.startswith(p + ".") for p in packages)


def _digest(value):
    return hashlib.sha1(repr(value).encode("utf-8", "backslashreplace")).hexdigest()


def _spaces():
    # (name, namespace) of every module whose globals are checked
    out = []
    for name, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)
        if namespace.__class__ is dict and name != "__main__" and name != __name__ and \
                not (_fresh and _within(name, _fresh)):
            out.append((name, namespace))
    return out


def _flat_globals(spaces):
    # Every checked module's global names and what each is bound to, as flat lists built at C speed: equal to the
    # baseline's when no module was imported or dropped and no global of any module was bound, rebound or deleted.
    namespaces = [namespace if name not in _ignored else {k: v for k, v in namespace.items() if k not in _ignored[name]}
                  for name, namespace in spaces]
    return ([name for name, _ in spaces], list(itertools.chain.from_iterable(namespaces)),
            list(itertools.chain.from_iterable(map(dict.values, namespaces))))


def _module_globals(spaces):
    # The same by module, without the names that may change (to say which modules changed)
    out = {}
    for name, namespace in spaces:
        skip = _ignored.get(name, _SKIP)
        if any(key in namespace for key in skip):
            namespace = {k: v for k, v in namespace.items() if k not in skip}
        out[name] = (tuple(namespace), tuple(map(id, namespace.values())))
    return out


def _watch(value, depth, module, seen, watched):
    # Record every object of a checked package's state whose content can change in place, reachable from a module
    # global within ``depth`` steps: containers, lru caches, the checked packages' functions (defaults, attributes,
    # closure), classes (attributes) and instances (attributes).
    key = id(value)
    if key in seen or depth <= 0 or isinstance(value, _SCALARS):
        return
    seen.add(key)
    kind = type(value)
    if issubclass(kind, _LRU):
        inside = [value.__wrapped__, getattr(value, "__dict__", None)]
    elif issubclass(kind, types.FunctionType):
        if not _within(getattr(value, "__module__", None) or "", _checked):
            return
        inside = [value.__defaults__, value.__kwdefaults__, value.__dict__, *_cells(value)]
    elif issubclass(kind, type):
        if not _within(value.__dict__.get("__module__") or "", _checked):
            return
        inside = list(value.__dict__.values())
    elif issubclass(kind, dict):
        inside = list(value.values())
    elif issubclass(kind, (list, tuple, collections.deque, set, frozenset)):
        inside = list(value)
    elif _within(getattr(kind, "__module__", None) or "", _checked):
        inside = [getattr(value, "__dict__", None), *_slots(value)]
    else:
        return
    watched.append((value, _content(value), module))
    for item in inside:
        _watch(item, depth - 1, module, seen, watched)


def _cells(function):
    out = []
    for cell in function.__closure__ or ():
        try:
            out.append(cell.cell_contents)
        except ValueError:  # an empty cell
            out.append(None)
    return out


def _slots(value):
    return [getattr(value, s, None) for c in type(value).__mro__ for s in getattr(c, "__slots__", ())
            if s not in ("__dict__", "__weakref__")]


def _content(value):
    # What an object holds, one level down, as (names, objects): equal (names by value, objects by identity) to
    # an earlier picture when nothing was added, removed or rebound inside it.
    kind = type(value)
    if issubclass(kind, dict):
        return list(value), list(value.values())
    if issubclass(kind, (list, tuple, collections.deque)):
        return None, list(value)
    if issubclass(kind, (set, frozenset)):
        return len(value), sorted(map(id, value))
    if issubclass(kind, _LRU):
        return value.cache_info().currsize, [value.__wrapped__, getattr(value, "__dict__", None)]
    if issubclass(kind, types.FunctionType):
        return None, [value.__code__, value.__defaults__, value.__kwdefaults__, value.__dict__, *_cells(value)]
    if issubclass(kind, type):
        return list(value.__dict__), list(value.__dict__.values())
    return None, [getattr(value, "__dict__", None), *_slots(value)]


def _same(a, b):
    return a[0] == b[0] and len(a[1]) == len(b[1]) and all(map(operator.is_, a[1], b[1]))


def _package_watch(spaces):
    global _owners
    seen, watched, _owners = set(), [], {}
    for name, namespace in sorted(spaces):
        if _within(name, _checked):
            for key, value in namespace.items():
                if key not in ("__builtins__", "__warningregistry__"):
                    _owners.setdefault(id(value), set()).add(name)
                    _watch(value, _DEPTH, name, seen, watched)
    return watched


def _package_changes(spaces):
    # The checked packages' modules in which something changed in place since the baseline: those with a global
    # bound to what changed, else the first through which it is reached
    out = set()
    for value, content, module in _watched:
        if not _same(_content(value), content):
            out |= _owners.get(id(value), {module})
    return sorted(out)


def fingerprint(spaces=None):
    ip = get_ipython()
    formatters = ip.display_formatter.formatters
    spaces = _spaces() if spaces is None else spaces
    return {
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
    for name in [n for n in sys.modules if _within(n, _fresh)]:
        del sys.modules[name]
    for module, attribute in _caches:
        cached = getattr(sys.modules.get(module), attribute, None)
        if cached is not None and hasattr(cached, "cache_clear"):
            cached.cache_clear()
    gc.collect(1)  # the young objects of the last notebook; a full collection would cost ~40 ms


def _cache_fresh_code():
    # The fresh packages are imported again by every notebook. Their compiled code objects are immutable, so they
    # are kept (by file, modification time and size) and only the module bodies run again: without bytecode files
    # (PYTHONDONTWRITEBYTECODE) every import would compile the sources anew.
    from importlib.machinery import SourceFileLoader
    original = SourceFileLoader.get_code
    cache = {}

    def get_code(self, fullname):
        if not _within(fullname, _fresh):
            return original(self, fullname)
        stat = os.stat(self.path)
        key = (self.path, stat.st_mtime_ns, stat.st_size)
        if key not in cache:
            cache[key] = original(self, fullname)
        return cache[key]

    SourceFileLoader.get_code = get_code


def configure(fresh, checked, caches, ignored):
    global _fresh, _checked, _caches, _ignored
    _fresh, _checked = tuple(fresh), tuple(checked)
    _caches = tuple(tuple(name.rsplit(".", 1)) for name in caches)
    _ignored = {}
    for name in ignored:
        module, _, attribute = name.rpartition(".")
        _ignored.setdefault(module, set(_SKIP)).add(attribute)
    if _fresh:
        _cache_fresh_code()


def warm_up(preload):
    # Import what every notebook needs, then take the baseline that later resets are compared with.
    global _baseline, _flat, _watched
    import importlib
    for name in preload:
        importlib.import_module(name)
    _clear()
    spaces = _spaces()
    _baseline = fingerprint(spaces)
    _baseline["module globals"] = _module_globals(spaces)
    _flat = _flat_globals(spaces)
    _watched = _package_watch(spaces)


def _names(items):
    items = sorted(items)
    return ", ".join(items[:5]) + (" ..." if len(items) > 5 else "")


def reset():
    # Clear the namespace, the fresh packages and the per-notebook caches; return what differs from the baseline.
    global _flat
    _clear()
    spaces = _spaces()
    now = fingerprint(spaces)
    changed = [k for k, v in now.items() if _baseline[k] != v]
    flat = _flat_globals(spaces)
    altered = []
    if not (flat[0] == _flat[0] and flat[1] == _flat[1] and len(flat[2]) == len(_flat[2])
            and all(map(operator.is_, flat[2], _flat[2]))):
        before, after = _baseline["module globals"], _module_globals(spaces)
        if set(after) - set(before):
            changed.append("imported " + _names(set(after) - set(before)))
        if set(before) - set(after):
            changed.append("dropped " + _names(set(before) - set(after)))
        altered = [m for m in before if m in after and after[m] != before[m]]
        if altered:
            changed.append("globals of " + _names(altered))
        if after == before:  # only names that may change did: this is the picture to compare with from now on
            _flat = flat
    altered = [m for m in _package_changes(spaces) if m not in altered]
    if altered:
        changed.append("the state of " + _names(altered))
    return changed
'''

_SIDE_MODULE = "_evalkit_warm_kernel"

#: Module globals that legitimately change in every notebook: SQLAlchemy numbers each Column it creates with a
#: global counter. Counters carry nothing of a notebook's data.
IGNORED_GLOBALS = ("sqlalchemy.util.langhelpers._creation_order",)

#: Caches emptied after every notebook (before the check): memos of pure functions whose keys are a letter's own
#: values (its dates), so that nothing of one letter stays in the kernel and the check finds them as they were.
CLEARED_CACHES = ("evalkit.calendar.long_date",)


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
        as a change.
    warm_up_code : str, optional
        Code run after the imports, before the baseline is taken: it should do what a notebook does, on neutral
        data, so that modules imported lazily on first use and caches of configuration (programs, rubrics,
        compiled templates) belong to the baseline.
    checked_packages : sequence of str
        Packages kept loaded across notebooks whose state is checked in depth after each one (default
        ``evalkit``): what every module-level container, class, instance, function and lru cache of theirs holds,
        not only which object each global name is bound to.
    clear_caches : sequence of str
        Dotted names of lru-cached functions emptied after every notebook (default :data:`CLEARED_CACHES`).
    fresh_packages : sequence of str
        Packages whose modules are dropped after every notebook and imported anew by the next one (default none:
        re-importing evalkit for every letter cost ~90 ms and threw its caches away).
    ignore_globals : sequence of str
        Dotted names of module globals that may change without retiring the kernel (default
        :data:`IGNORED_GLOBALS`).
    startup_timeout : float
        Seconds to wait for a new kernel.
    """

    def __init__(self, preload=(), warm_up_code: str = "", checked_packages=("evalkit",),
                 clear_caches=CLEARED_CACHES, fresh_packages=(), ignore_globals=IGNORED_GLOBALS,
                 startup_timeout: float = 60):
        self.preload = list(preload)
        self.ignore_globals = list(ignore_globals)
        self.warm_up_code = warm_up_code
        self.checked_packages = list(checked_packages)
        self.clear_caches = list(clear_caches)
        self.fresh_packages = list(fresh_packages)
        self.startup_timeout = startup_timeout
        self.km: AsyncKernelManager | None = None
        self.kc = None
        self.language_info: dict | None = None
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
        # (``Out``, ``_``): the kernel holds nothing of a notebook once its namespace is cleared. Python's own
        # output is captured as in any kernel; not capturing what C libraries write to the file descriptors saves
        # ~0.5 ms of every request (a letter's code writes nothing there). ipykernel sleeps 0.5 ms before every
        # reply so that a client stopping at the reply gets the outputs first; ours reads up to the kernel's
        # "idle", which follows every output, so it need not.
        await self.km.start_kernel(extra_arguments=["--HistoryManager.enabled=False",
                                                    "--InteractiveShell.cache_size=0",
                                                    "--IPKernelApp.capture_fd_output=False",
                                                    "--IPythonKernel._execute_sleep=0"])
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
                 f"_m.configure({self.fresh_packages!r}, {self.checked_packages!r}, {self.clear_caches!r}, "
                 f"{self.ignore_globals!r})\ndel _s, _t, _m\n{self.warm_up_code}\n")
        # The baseline is taken the way every reset is run: as a user expression, outside any cell.
        try:
            await self._evaluate(setup, f"__import__({_SIDE_MODULE!r}).warm_up({self.preload!r})", "warm-up")
        except KernelResetError:
            self.retire("the warm-up failed")
            raise
        # What papermill asks every notebook's kernel after its last cell; the same for every notebook of a kernel.
        msg_id = self.kc.kernel_info()
        while True:
            reply = await self.kc.get_shell_msg(timeout=self.startup_timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        self.language_info = reply["content"]["language_info"]
        self._ready = True

    def start(self, nb, timeout: float | None = None):
        """Send a notebook to this kernel (started or replaced first if need be); the returned
        :class:`~evalkit.letters.execute.Run`'s ``finish()`` gives it executed and resets the kernel (see
        :func:`~evalkit.letters.execute.start_notebook`). The parameters cell that the injected one overrides is
        not run."""
        from .execute import start_notebook

        self.ensure_ready()
        self.runs += 1
        return start_notebook(self, nb, _overwritten_parameters(nb), timeout)

    def run(self, nb, timeout: float | None = None):
        """Execute a notebook on this kernel, then reset the kernel: :meth:`start`, then wait for it."""
        return self.start(nb, timeout).finish()

    #: The user expression that resets the kernel and returns what differs from the baseline (JSON).
    RESET_EXPRESSION = f"__import__('json').dumps(__import__({_SIDE_MODULE!r}).reset())"

    def after_notebook(self, failed: bool, reset_reply: dict | None) -> list[str]:
        """Take the verdict of the reset after a notebook (``reset_reply``: the result of
        :attr:`RESET_EXPRESSION`, evaluated with the notebook's last cell); returns why the kernel was retired
        (empty: it is clean and reusable)."""
        if failed or reset_reply is None:
            return self.retire("a cell failed")
        try:
            changed = self._expression_value(reset_reply, "reset")
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
        if content["status"] != "ok":
            raise KernelResetError(f"kernel {what} failed: {content.get('ename')}: {content.get('evalue')}")
        return self._expression_value(content.get("user_expressions", {}).get("out", {}), what)

    @staticmethod
    def _expression_value(result: dict, what: str):
        """The value of a user expression that evaluated to JSON text."""
        if result.get("status") != "ok":
            raise KernelResetError(f"kernel {what} failed: {result.get('ename')}: {result.get('evalue')}")
        return json.loads(ast.literal_eval(result["data"]["text/plain"]))


_default_kernel: WarmKernel | None = None


def _process_kernel() -> WarmKernel:
    global _default_kernel
    if _default_kernel is None:
        _default_kernel = WarmKernel()
        atexit.register(_default_kernel.shutdown)
    return _default_kernel


def _overwritten_parameters(nb) -> set[int]:
    """The template's ``parameters`` cell, if running it would change nothing: it only assigns names (its defaults,
    for a run by hand) that the ``injected-parameters`` cell papermill put after it assigns again. Not running it
    saves a round trip to the kernel per notebook; the record shows it unexecuted."""
    tags = [cell.metadata.get("tags", []) if cell.cell_type == "code" else [] for cell in nb.cells]
    for i, cell_tags in enumerate(tags):
        if "parameters" in cell_tags and i + 1 < len(tags) and "injected-parameters" in tags[i + 1]:
            defaults, injected = (_assigned(nb.cells[j].source) for j in (i, i + 1))
            if defaults is not None and injected is not None and defaults <= injected:
                return {i}
            break
    return set()


def _assigned(source: str) -> set[str] | None:
    """The names a cell assigns, if all it does is assign names; else None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names = set()
    for statement in tree.body:
        if not (isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) for t in statement.targets)):
            return None
        names.update(t.id for t in statement.targets)
    return names


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
        kernel = warm_kernel or _process_kernel()
        return kernel.run(nb_man.nb, execution_timeout)
