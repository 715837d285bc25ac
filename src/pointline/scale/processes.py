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
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import IO, Any, NoReturn, TypeVar

from pointline.config import get_lake
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

    Raises
    ------
    PointlineError
        ``fn`` or an item cannot be serialised, a result cannot be sent back, a worker died, or
        cloudpickle is missing.
    BaseException
        Whatever a task raised, as itself.
    """
    cloudpickle = _cloudpickle()
    shipped_fn = _dumps(cloudpickle, fn, "the function")
    tasks: queue.SimpleQueue[tuple[int, bytes]] = queue.SimpleQueue()
    for index, item in enumerate(items):  # every item checked before a worker starts
        tasks.put((index, _dumps(cloudpickle, item, f"item {index}")))
    if not sys.executable:
        raise PointlineError(
            "executor 'local' starts worker processes with this Python, and sys.executable is unknown "
            "here (an embedded interpreter?); use executor 'threads'"
        )
    results: list[Any] = [None] * len(items)
    env = _worker_env(workers)
    pool: list[_Worker] = []
    drivers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pointline-worker")
    completed = False
    try:
        pool.extend(_Worker(env) for _ in range(workers))  # started together: they boot in parallel
        futures = [drivers.submit(worker.drive, shipped_fn, tasks, results) for worker in pool]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        raised = [exc for exc in (f.exception() for f in done) if exc is not None]
        if raised:
            first = min(raised, key=lambda exc: exc.index if isinstance(exc, _Failed) else -1)
            if isinstance(first, _Failed):
                raise first.error from None
            raise first
        completed = True
    finally:
        for worker in pool:
            worker.stop(kill=not completed)
        drivers.shutdown(wait=True)
        for worker in pool:
            worker.close()
    return results


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
        self, shipped_fn: bytes, tasks: queue.SimpleQueue[tuple[int, bytes]], results: list[Any]
    ) -> None:
        """Send ``fn``, then take items from ``tasks`` until none is left, storing each result in
        ``results``; raise :class:`_Failed` for the first item that fails."""
        sent_fn = False
        while True:
            try:
                index, payload = tasks.get_nowait()
            except queue.Empty:
                return
            try:
                if not sent_fn:
                    _write_frame(self._inbox, shipped_fn)
                    sent_fn = True
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
    """A worker's loop: read ``fn``, then for each item read, reply with the result or the exception
    it raised, until the input is closed; then end the process. Runs in the worker (``_BOOT``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cloudpickle = _cloudpickle()
    inbox = os.fdopen(inbox_fd, "rb")
    outbox = os.fdopen(outbox_fd, "wb")
    shipped_fn = _read_frame(inbox)
    fn: Callable[[Any], Any] | None = None
    while shipped_fn is not None and (payload := _read_frame(inbox)) is not None:
        try:
            if fn is None:  # loaded with the first item, so a failure to load reads as that item's
                fn = pickle.loads(shipped_fn)
            result = fn(pickle.loads(payload))
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
