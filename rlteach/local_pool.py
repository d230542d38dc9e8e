"""The actor pool on this machine: workers on threads or on processes (the "thread" and "process" backends
of ``rlteach.workers``, which documents the API; the "ray" backend is rlteach/ray_backend.py).

Read top to bottom: the error a failed worker raises, what a worker sees (``WorkerContext``), published
weights in shared memory (``SharedWeights``), the body every worker runs, the pool itself.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
import traceback

import torch
import torch.multiprocessing as tmp

from rlteach.checks import check_num_workers


def new_lock(backend):
    """A lock that works across the workers of ``backend``: a thread lock or a process lock."""
    return threading.Lock() if backend == "thread" else tmp.get_context("spawn").Lock()


class WorkerError(RuntimeError):
    """A worker raised; the message holds its index and its traceback. ``train`` of A3C, Ape-X and IMPALA
    attaches the run so far as ``partial`` (a TrainResult marked interrupted): nothing recorded is lost."""


class WorkerContext:
    """What a worker function sees of its pool (see the module docstring)."""

    def __init__(self, index, stop_event, results, weights, parent_pid=None):
        self.index, self._stop, self._results, self._weights = index, stop_event, results, weights
        self._parent_pid = parent_pid

    def should_stop(self) -> bool:
        """True once the pool is stopping, or, in a worker process, once the process that started it is gone
        (a kernel killed outright sets no stop event; its workers must not train on for ever)."""
        return self._stop.is_set() or (self._parent_pid is not None and os.getppid() != self._parent_pid)

    def put(self, item) -> bool:
        """Send ``item`` to the learner. With a bounded queue (``make_pool(..., max_queue=...)``) wait while it is
        full (back-pressure: a learner that falls behind slows the workers down). Once the pool is stopping,
        ``stop()`` empties the queue, so keep trying for a second more before giving up. True if queued."""
        tries_after_stop = 10
        while True:
            try:
                self._results.put(item, timeout=0.1)
                return True
            except queue.Full:
                if self.should_stop():
                    tries_after_stop -= 1
                    if tries_after_stop == 0:
                        return False

    def weights(self, model, version=-1) -> int:
        """Copy the latest published weights into ``model`` if they are newer than ``version``."""
        return self._weights.copy_into(model, version)

    def version(self) -> int:
        """The version of the latest published weights (0 = the weights the pool was made with)."""
        return self._weights.version.value


class _Counter:
    """A plain integer with ``.value``, standing in for multiprocessing.Value on the thread backend."""

    def __init__(self):
        self.value = 0


class SharedWeights:
    """Published weights: a state_dict in shared memory plus a version counter, guarded by one lock.

    Made from a template state_dict before the workers start, so every process maps the same memory. The
    learner ``publish``es (version + 1); a worker copies only when the version moved on, so a worker that
    syncs every step costs one integer read most of the time."""

    def __init__(self, template, lock, version):
        self.lock, self.version = lock, version
        self.state = {k: v.detach().clone().cpu().share_memory_() for k, v in template.items()}

    def publish(self, state_dict, while_waiting=None) -> int:
        """Copy ``state_dict`` in as the next version. While the lock is busy, ``while_waiting()`` runs every
        half second: a worker process killed while it held the lock never releases it, and the pool's check
        (what ``WorkerPool.publish`` passes) raises instead of the learner waiting for ever."""
        while not self.lock.acquire(True, 0.5):
            if while_waiting is not None:
                while_waiting()
        try:
            for k, v in state_dict.items():
                self.state[k].copy_(v)
            self.version.value += 1
            return self.version.value
        finally:
            self.lock.release()

    def copy_into(self, model, version) -> int:
        if self.version.value <= version:
            return version
        with self.lock:
            model.load_state_dict(self.state)
            return self.version.value


def _run_worker(work, index, stop_event, results, errors, weights, args, parent_pid, started):
    """The body of every worker, on either backend: run ``work``; on an exception report it and stop all.
    ``parent_pid`` is the pool's process id for a worker process (None for a thread).
    ``started[index] = 1`` tells the pool that the worker got this far (a process can die before that)."""
    started[index] = 1
    if parent_pid is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
        torch.set_num_threads(1)
    try:
        work(WorkerContext(index, stop_event, results, weights, parent_pid), *args)
    except BaseException:  # noqa: BLE001 - every failure must reach the caller
        errors.put((index, traceback.format_exc()))
        stop_event.set()


def exit_reason(exitcode) -> str:
    """How a worker process ended: a negative exit code is the signal that killed it (-9: SIGKILL)."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the process was killed by {name} (exit code {exitcode})\n"
    return f"the process exited with code {exitcode}\n"


def died_while_starting(work) -> str:
    """Why a worker process dies before it runs its first line, and the fix (see ``WorkerPool.check``)."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    text = (f"It died while starting, before it ran {getattr(work, '__name__', 'its work')}(): a new process\n"
            "with the 'spawn' start method first re-imports the main script, then unpickles its work.")
    if main is None:
        return text + " Its own error is printed above, on stderr.\n"
    return text + f"""
The most common cause: {main} starts the training at its top level, with no main guard. Each worker
process then re-runs that line while it starts, tries to start workers of its own, and Python stops it
(its RuntimeError, "An attempt has been made to start a new process before the current process has
finished its bootstrapping phase", is printed above). The fix: put the script's top-level code under

    if __name__ == "__main__":
        result = train(config)

Notebooks, `python -m rlteach` and the thread backend need no guard.
"""


class WorkerPool:
    """N workers running ``work(ctx, *args)`` on ``backend``: "thread", else "process". ``RayPool`` (in
    rlteach/ray_backend.py) is the same API on Ray. Make one with ``rlteach.workers.make_pool``, the one place
    that checks ``backend``."""

    def __init__(self, work, num_workers, backend="thread", args=(), weights=None, max_queue=0, join_timeout=5.0):
        check_num_workers(num_workers)
        self.work, self.num_workers, self.backend, self.args = work, num_workers, backend, tuple(args)
        self.join_timeout = join_timeout
        if backend == "thread":
            self._ctx = None
            self.stop_event, self.results, self.errors = threading.Event(), queue.Queue(max_queue), queue.Queue()
            lock, version = threading.Lock(), _Counter()
            self.started = [0] * num_workers
        else:
            self._ctx = tmp.get_context("spawn")
            self.stop_event, self.errors = self._ctx.Event(), self._ctx.Queue()
            self.results = self._ctx.Queue(max_queue)           # 0: unbounded
            lock, version = self._ctx.Lock(), self._ctx.Value("q", 0)
            self.started = self._ctx.Array("b", num_workers, lock=False)   # 1 once a worker runs _run_worker
        # weights: a template state_dict for publish()/ctx.weights(), or None when workers need none
        self.shared_weights = None if weights is None else SharedWeights(weights, lock, version)
        self.workers, self.leftovers, self.stopping = [], [], False

    # --- lifecycle ----------------------------------------------------------------------------------------

    def start(self):
        is_process = self.backend == "process"
        for i in range(self.num_workers):
            body = (self.work, i, self.stop_event, self.results, self.errors, self.shared_weights, self.args,
                    os.getpid() if is_process else None, self.started)
            if is_process:
                worker = self._ctx.Process(target=_run_worker, args=body, name=f"rlteach-worker-{i}", daemon=True)
            else:
                worker = threading.Thread(target=_run_worker, args=body, name=f"rlteach-worker-{i}", daemon=True)
            self.workers.append(worker)
            worker.start()
        return self

    def stop(self):
        """Ask every worker to return; after ``join_timeout`` s terminate, then kill, what is left.

        Results still on their way are kept (a process cannot exit while its queue is unread): ``drain()``
        hands them over, so no finished episode or counted step is lost."""
        self.stopping = True                  # from here on a process that ends nonzero was ended by us
        self.stop_event.set()
        deadline = time.monotonic() + self.join_timeout
        while self.alive() and time.monotonic() < deadline:
            self._collect_leftovers(timeout=0.05)
            for w in self.workers:
                w.join(timeout=0.01)
        if self.backend == "process":
            for w in self.workers:
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=2)
                if w.is_alive():
                    w.kill()
                    w.join()
        self._collect_leftovers(timeout=0)

    def _collect_leftovers(self, timeout):
        while True:
            try:
                self.leftovers.append(self.results.get(timeout=timeout) if timeout else self.results.get_nowait())
            except queue.Empty:
                return

    def drain(self) -> list:
        """Results that arrived after the caller stopped reading (collected by ``stop``)."""
        self._collect_leftovers(timeout=0)
        items, self.leftovers = self.leftovers, []
        return items

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # --- talking to the workers ---------------------------------------------------------------------------

    def check(self):
        """Raise WorkerError if any worker failed (or a process died without a word). A process killed by a
        signal is named first: it is the cause, and a peer's error (DD-PPO's all-reduce losing its partner)
        may be only its consequence."""
        dead = [i for i, w in enumerate(self.workers)
                if self.backend == "process" and w.exitcode not in (None, 0) and not self.stopping]
        killed = [i for i in dead if self.workers[i].exitcode < 0]
        error = None if killed else self._next_error()
        if error is not None:
            index, tb = error
        elif dead:
            index = (killed or dead)[0]
            tb = exit_reason(self.workers[index].exitcode)
            if not self.started[index]:
                tb += died_while_starting(self.work)
        else:
            return
        self.stop()
        raise WorkerError(f"worker {index} ({self.backend} backend) failed; its traceback:\n{tb}")

    def _next_error(self):
        """(index, traceback) of a worker that raised, or None."""
        try:
            return self.errors.get_nowait()
        except queue.Empty:
            return None

    def get(self, timeout=1.0):
        """The next result a worker put, or None after ``timeout`` seconds; raises WorkerError first."""
        self.check()
        try:
            return self.results.get(timeout=timeout)
        except queue.Empty:
            self.check()
            return None

    def publish(self, state_dict) -> int:
        """Make new weights available to every worker; returns their version."""
        if self.shared_weights is None:
            raise RuntimeError("this pool was made without weights=...: nothing to publish into")
        return self.shared_weights.publish(state_dict, while_waiting=self.check)

    def alive(self) -> int:
        return sum(w.is_alive() for w in self.workers)

    def describe(self) -> dict:
        """Where the workers run (RayPool adds actor names, nodes and restarts)."""
        return {"backend": self.backend, "num_workers": self.num_workers}

    def backlog(self) -> int | None:
        """About how many results wait in the queue now (None where the platform cannot tell, e.g. macOS)."""
        try:
            return self.results.qsize()
        except NotImplementedError:
            return None
