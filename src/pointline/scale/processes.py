"""Worker processes of the ``local`` executor: fresh interpreters that receive the work by value.

:func:`map_processes` applies ``fn`` to every item in ``workers`` new Python interpreters
(``sys.executable`` started afresh, what :mod:`multiprocessing` calls *spawn*; never a fork of this
process, whose Polars, Numba and Ray threads make forking unsafe). The workers are started here
rather than by :mod:`multiprocessing`, whose spawn re-runs the caller's ``__main__`` script in every
worker (importing Polars before a worker could bound its threads, and re-running a script that has
no ``if __name__ == "__main__":`` guard) and cannot give a worker its own environment.

- ``fn`` is serialised once with cloudpickle and sent once to each worker; each item is sent when
  a worker is free. Functions and classes defined in a notebook, in ``__main__`` or inside another
  function travel by value; those of importable modules by reference (a worker gets this process's
  ``sys.path``). Results come back the same way, in item order.
- Each worker starts with ``POLARS_MAX_THREADS`` set to its share of the CPUs
  (:func:`polars_threads`), so the workers together use about the machine's cores, and with
  ``POINTLINE_LAKE`` set to this process's lake (:func:`pointline.get_lake`), so a lake chosen with
  :func:`pointline.set_lake` here is the default there too.
- A task that raises re-raises its own exception here, same type and message (other than a
  :class:`~pointline.errors.PointlineError`, it carries the worker's traceback as a note). The first
  failure ends the run: the items not yet started are not run and the workers are stopped.
- A worker that dies (killed, out of memory, a crash in native code) raises a
  :class:`~pointline.errors.PointlineError` naming the item it was running.

Workers ignore Ctrl-C (it interrupts this process, which stops them), and a worker whose caller
has gone exits when it finds its input closed.

**Workers are kept for the next call** (starting them costs 1–3 s: importing Polars and Pointline,
loading compiled kernels), so a notebook calling ``pipeline`` again pays it once. Each run sends
its function, lake and working directory afresh, and every item starts in them (a
:func:`~pointline.set_lake` made by a task does not outlive it). New workers replace the kept ones when a call asks for another number of
workers, the environment or ``sys.path`` changed, a run failed or was interrupted, or a source file
of this process's own modules (anything not installed with the interpreter or in site-packages: a
notebook's helper module, an editable install) changed after they started, since a worker that
imported the old code would run it. Kept workers stop after :data:`DEFAULT_IDLE_S` seconds without
a run (``POINTLINE_WORKER_IDLE_S`` overrides; they hold their memory meanwhile), at exit, or on
:func:`shutdown_workers`. A second thread calling while they are busy gets workers of its own.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import sysconfig
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import IO, Any, NoReturn, TypeVar

from pointline.config import get_lake, set_lake
from pointline.errors import PointlineError

T = TypeVar("T")
R = TypeVar("R")

#: Frames on the pipes are a little-endian 8-byte length, then that many bytes.
_HEADER = struct.Struct("<Q")

#: A worker's program: this process's ``sys.path``, then :func:`serve`. Nothing before it imports
#: Polars, and the environment (``POLARS_MAX_THREADS``) is in place from the interpreter's start.
_BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[3]); "
    "from pointline.scale.processes import serve; serve(int(sys.argv[1]), int(sys.argv[2]))"
)

#: Seconds a worker gets to exit once its input is closed (or its output was) before it is killed.
_EXIT_GRACE_S = 10.0


def polars_threads(workers: int) -> int:
    """Polars threads for each of ``workers`` processes: the CPUs shared out, at least 1, and no more
    than ``POLARS_MAX_THREADS`` of this process's environment when that is set."""
    share = max(1, (os.cpu_count() or 1) // workers)
    asked = os.environ.get("POLARS_MAX_THREADS", "").strip()
    return min(share, int(asked)) if asked.isdigit() and int(asked) >= 1 else share


def map_processes(fn: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``[fn(item) for item in items]`` in ``workers`` worker processes, results in item order.

    The workers are kept for the next call (see :func:`shutdown_workers` and the module docstring).

    Raises
    ------
    PointlineError
        ``fn`` or an item cannot be serialised, a result cannot be sent back, a worker died, or
        cloudpickle is missing.
    BaseException
        Whatever a task raised, as itself.
    """
    cloudpickle = _cloudpickle()
    lake: str | None = None
    with contextlib.suppress(PointlineError):  # ./lake is a file: reported if a worker reads it
        lake = get_lake()
    cwd: str | None = None
    with contextlib.suppress(OSError):  # a working directory deleted meanwhile: the workers keep theirs
        cwd = os.getcwd()
    run_header = _RUN + cloudpickle.dumps((cwd, lake, _dumps(cloudpickle, fn, "the function")))
    tasks: queue.SimpleQueue[tuple[int, bytes]] = queue.SimpleQueue()
    for index, item in enumerate(items):  # every item checked before a worker starts
        tasks.put((index, _ITEM + _dumps(cloudpickle, item, f"item {index}")))
    if not sys.executable:
        raise PointlineError(
            "executor 'local' starts worker processes with this Python, and sys.executable is unknown "
            "here (an embedded interpreter?); use executor 'threads'"
        )
    results: list[Any] = [None] * len(items)
    with _pool_for(workers) as pool:
        drivers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pointline-worker")
        try:
            futures = [drivers.submit(worker.drive, run_header, tasks, results) for worker in pool.workers]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            raised = [exc for exc in (f.exception() for f in done) if exc is not None]
            if raised:
                first = min(raised, key=lambda exc: exc.index if isinstance(exc, _Failed) else -1)
                if isinstance(first, _Failed):
                    raise first.error from None
                raise first
            pool.healthy = True
        finally:
            if not pool.healthy:
                pool.stop(kill=True)  # a failed or interrupted run: its items may still be running
            drivers.shutdown(wait=True)
    return results


def shutdown_workers() -> None:
    """Stop the worker processes kept for later calls (the next ``local`` run starts new ones).

    Example
    -------
    >>> from pointline.scale.processes import shutdown_workers
    >>> shutdown_workers()
    """
    with _POOL_LOCK:
        _retire(None)


#: Frames to a worker start with one of these bytes: a run's header (the lake and the function,
#: cloudpickled) or an item.
_RUN, _ITEM = b"R", b"I"
#: Kept workers stop after this many seconds without a run (``POINTLINE_WORKER_IDLE_S``).
DEFAULT_IDLE_S = 600.0


class _Pool:
    """``workers`` worker processes started together (they boot in parallel), and what they were
    started with: a later call reuses them only when that is unchanged."""

    def __init__(self, workers: int, key: tuple[Any, ...]) -> None:
        self.key = key
        self.started = time.time()
        self.healthy = False  # set by a run that completed; a pool that is not is stopped
        self.workers: list[_Worker] = []
        self.timer: threading.Timer | None = None
        env = _worker_env(workers)
        try:
            self.workers.extend(_Worker(env) for _ in range(workers))
        except BaseException:
            self.stop(kill=True)
            raise

    def stop(self, *, kill: bool) -> None:
        if self.timer is not None:
            self.timer.cancel()
        for worker in self.workers:
            worker.stop(kill=kill)
        for worker in self.workers:
            worker.close()
        self.workers = []
        self.healthy = False


_POOL_LOCK = threading.Lock()
_POOL: _Pool | None = None


@contextlib.contextmanager
def _pool_for(workers: int) -> Iterator[_Pool]:
    """The kept pool when it fits this call (same size, environment, ``sys.path``, and none of this
    process's own source files changed since it started), else a new one, kept afterwards if the run
    completes. A second caller while the kept pool is busy gets a pool of its own for the call."""
    global _POOL
    if not _POOL_LOCK.acquire(blocking=False):  # another thread's run holds the kept pool
        pool = _Pool(workers, ())
        try:
            yield pool
        finally:
            pool.stop(kill=not pool.healthy)
        return
    try:
        key = _pool_key(workers)
        if _POOL is not None and (_POOL.key != key or not _POOL.workers or _sources_changed(_POOL.started)):
            _retire(None)
        if _POOL is None:
            _POOL = _Pool(workers, key)
        pool = _POOL
        if pool.timer is not None:
            pool.timer.cancel()
        pool.healthy = False
        try:
            yield pool
        finally:
            if pool.healthy:
                pool.timer = threading.Timer(_idle_seconds(), _retire_unless_busy, args=(pool,))
                pool.timer.daemon = True
                pool.timer.start()
            else:
                pool.stop(kill=True)
                _POOL = None
    finally:
        _POOL_LOCK.release()


def _retire(pool: _Pool | None) -> None:
    """Stop the kept pool (when it is ``pool``, or any with ``None``); the lock is held."""
    global _POOL
    if _POOL is not None and (pool is None or _POOL is pool):
        _POOL.stop(kill=False)
        _POOL = None


def _retire_unless_busy(pool: _Pool | None, wait_s: float = 0.0) -> None:
    """:func:`_retire` unless a run holds the pool (for longer than ``wait_s``): that run keeps it."""
    if _POOL_LOCK.acquire(timeout=wait_s):
        try:
            _retire(pool)
        finally:
            _POOL_LOCK.release()


def _idle_seconds() -> float:
    asked = os.environ.get("POINTLINE_WORKER_IDLE_S", "").strip()
    try:
        return max(0.0, float(asked)) if asked else DEFAULT_IDLE_S
    except ValueError:
        return DEFAULT_IDLE_S


def _pool_key(workers: int) -> tuple[Any, ...]:
    """What a worker inherits at start: a change means new workers (the lake is sent per run)."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k != "POINTLINE_LAKE"))
    return (workers, sys.executable, tuple(sys.path), env)


@functools.cache
def _installed_roots() -> tuple[str, ...]:
    """Folders of the interpreter and installed packages, as given and resolved."""
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots |= {sys.prefix, sys.base_prefix, sys.exec_prefix}
    return tuple({os.path.join(f(r), "") for r in roots for f in (os.path.abspath, os.path.realpath)})


def _sources_changed(since: float) -> bool:
    """Whether a source file of this process's own modules (not the interpreter's or the installed
    packages': a notebook's helper module, an editable install) changed after ``since``: workers
    that imported the old code would run it, so they are replaced."""
    roots = _installed_roots()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or not file.endswith(".py") or file.startswith(roots):
            continue
        with contextlib.suppress(OSError):
            if os.path.realpath(file).startswith(roots):
                continue
            if os.stat(file).st_mtime > since:
                return True
    return False


@atexit.register
def _stop_at_exit() -> None:
    # Never wait long on a run another thread left going: its workers end anyway when this
    # process's end closes their input.
    with contextlib.suppress(Exception):
        _retire_unless_busy(None, wait_s=2.0)


class _Failed(Exception):
    """A driver's report that item ``index`` failed with ``error`` (raised to the caller)."""

    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


class _Worker:
    """One worker process and the pipes to it, driven by one thread of this process."""

    def __init__(self, env: dict[str, str]) -> None:
        inbox_r, inbox_w = os.pipe()  # this process -> the worker
        outbox_r, outbox_w = os.pipe()  # the worker -> this process
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(inbox_r), str(outbox_w), json.dumps(sys.path)],
                pass_fds=(inbox_r, outbox_w),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except BaseException:
            for fd in (inbox_r, inbox_w, outbox_r, outbox_w):
                os.close(fd)
            raise
        os.close(inbox_r)
        os.close(outbox_w)
        self._inbox: IO[bytes] = os.fdopen(inbox_w, "wb")
        self._outbox: IO[bytes] = os.fdopen(outbox_r, "rb")

    def drive(
        self, run_header: bytes, tasks: queue.SimpleQueue[tuple[int, bytes]], results: list[Any]
    ) -> None:
        """Send the run's header (lake and ``fn``), then take items from ``tasks`` until none is
        left, storing each result in ``results``; raise :class:`_Failed` for the first item that fails."""
        sent_header = False
        while True:
            try:
                index, payload = tasks.get_nowait()
            except queue.Empty:
                return
            try:
                if not sent_header:
                    _write_frame(self._inbox, run_header)
                    sent_header = True
                _write_frame(self._inbox, payload)
                reply = _read_frame(self._outbox)
            except OSError:  # the worker is gone (a broken pipe)
                reply = None
            if reply is None:
                raise _Failed(index, self._died(index))
            results[index] = _result(index, reply)

    def stop(self, *, kill: bool) -> None:
        """End the worker: ``kill`` it now (a failed or interrupted run; its driver then finds the
        pipe closed), else close its input, which it takes as the end of the work."""
        if kill:
            self.process.kill()
        else:
            self._inbox.close()

    def close(self) -> None:
        """Release the pipes, and reap the process in the background (killed if it has not exited
        in time): a run does not wait for its workers' interpreters to shut down (about 1 s)."""
        for stream in (self._inbox, self._outbox):
            with contextlib.suppress(OSError):  # a broken pipe's unwritten bytes
                stream.close()
        threading.Thread(target=_reap, args=(self.process,), name="pointline-reaper", daemon=True).start()

    def _died(self, index: int) -> PointlineError:
        code = _reap(self.process)
        if code < 0:
            how = f"killed by {signal.Signals(-code).name}"
        else:
            how = f"exit status {code}; its error output, if any, is above"
        return PointlineError(
            f"item {index}: the worker process running it died ({how}) before returning a result: "
            "out of memory, a crash in native code, or killed from outside"
        )


def _reap(process: subprocess.Popen[bytes]) -> int:
    """Wait for ``process`` to exit (killed if it has not within the grace period); its exit code."""
    try:
        return process.wait(timeout=_EXIT_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def _result(index: int, reply: bytes) -> Any:
    """The value a worker's reply carries; raise :class:`_Failed` for a failure it reports."""
    try:
        kind, *rest = pickle.loads(reply)
    except Exception as exc:
        raise _Failed(
            index,
            PointlineError(
                f"item {index}: its result could not be read in this process ({type(exc).__name__}: {exc})"
            ),
        ) from None
    if kind == "ok":
        return rest[0]
    if kind == "raised":
        error, trace = rest
        if not isinstance(error, PointlineError):
            error.add_note(f"(raised in a worker process by item {index}; its traceback there:)\n{trace}")
        raise _Failed(index, error)
    if kind == "raised_unsendable":
        name, message, trace = rest
        error = RuntimeError(f"{name}: {message}")
        error.add_note(
            f"(raised in a worker process by item {index}, and not rebuildable here as itself; "
            f"its traceback there:)\n{trace}"
        )
        raise _Failed(index, error)
    raise _Failed(
        index,
        PointlineError(
            f"item {index}: its result cannot be sent back from a worker process ({rest[0]}); "
            "return plain data (numbers, strings, lists, dicts, DataFrames), or use executor 'threads'"
        ),
    )


def serve(inbox_fd: int, outbox_fd: int) -> NoReturn:
    """A worker's loop until its input is closed: a run's header (the caller's working directory
    and lake, which every item then starts in, the lake as ``POINTLINE_LAKE`` with any
    :func:`~pointline.set_lake` of an earlier item cleared, and ``fn``),
    then items, each answered with the result or the exception it raised; then end the process.
    Runs in the worker (``_BOOT``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cloudpickle = _cloudpickle()
    inbox = os.fdopen(inbox_fd, "rb")
    outbox = os.fdopen(outbox_fd, "wb")
    shipped_fn: bytes | None = None
    fn: Callable[[Any], Any] | None = None
    cwd: str | None = None
    lake: str | None = None
    while (frame := _read_frame(inbox)) is not None:
        kind, body = frame[:1], frame[1:]
        if kind == _RUN:
            cwd, lake, shipped_fn = pickle.loads(body)
            fn = None
            continue
        if cwd is not None:
            with contextlib.suppress(OSError):  # every item starts where the caller is
                os.chdir(cwd)
        if lake is not None:
            os.environ["POINTLINE_LAKE"] = lake
        set_lake(None)
        try:
            if fn is None:  # loaded with the first item, so a failure to load reads as that item's
                fn = pickle.loads(shipped_fn)  # type: ignore[arg-type]
            result = fn(pickle.loads(body))
        except BaseException as exc:
            reply = _failure_reply(cloudpickle, exc)
        else:
            try:
                reply = cloudpickle.dumps(("ok", result))
            except Exception as exc:
                reply = cloudpickle.dumps(("unsendable", f"{type(exc).__name__}: {exc}"))
        try:
            _write_frame(outbox, reply)
        except BrokenPipeError:  # the caller has gone (killed, or it stopped the run)
            break
    # Leave without the interpreter's shutdown (nothing is left to finalise once what the work
    # printed is flushed): it takes about a second with Polars loaded, and native threads outliving
    # the interpreter can crash an exit (docs/architecture.md, "Reading whole tables and SQL").
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def _failure_reply(cloudpickle: Any, exc: BaseException) -> bytes:
    """The exception itself when it survives pickling, else its class name, message and traceback."""
    trace = "".join(traceback.format_exception(exc)).rstrip()
    try:
        reply: bytes = cloudpickle.dumps(("raised", exc, trace))
        pickle.loads(reply)  # an exception whose class cannot be rebuilt from its args is sent as text
        return reply
    except Exception:
        name = f"{type(exc).__module__}.{type(exc).__qualname__}"
        return cloudpickle.dumps(("raised_unsendable", name, str(exc), trace))


def _worker_env(workers: int) -> dict[str, str]:
    env = dict(os.environ)
    env["POLARS_MAX_THREADS"] = str(polars_threads(workers))
    with contextlib.suppress(PointlineError):  # ./lake is a file: reported if a worker reads it
        env["POINTLINE_LAKE"] = get_lake()
    return env


def _write_frame(stream: IO[bytes], data: bytes) -> None:
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame, or ``None`` when the other end has closed (or died)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    return data if len(data) == size else None


def _dumps(cloudpickle: Any, value: Any, what: str) -> bytes:
    try:
        return cloudpickle.dumps(value)
    except Exception as exc:
        raise PointlineError(
            f"{what} cannot be sent to a worker process ({type(exc).__name__}: {exc}); "
            "use executor 'threads' to run it in this process"
        ) from None


def _cloudpickle() -> Any:
    try:
        import cloudpickle  # type: ignore[import-untyped]  # (it has no type information)
    except ImportError:
        raise PointlineError(
            "executor 'local' sends the work to worker processes with cloudpickle, which is not "
            "installed: pip install 'cloudpickle>=3' (a dependency of pointline), or use executor 'threads'"
        ) from None
    return cloudpickle
