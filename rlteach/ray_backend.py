"""The "ray" backend of ``rlteach.workers``: the same worker functions as Ray actors, on this machine or on
any machine of a Ray cluster. ``rlteach.workers.make_pool(work, n, backend="ray")`` returns a ``RayPool``.

    driver (train)                       Ray actors (any node)
    --------------                       ---------------------
    RayPool.publish(weights)  ------->   _RayHub: stop flag, latest weights + version, starts per worker
    RayPool.get()             <-------   ray.util.queue.Queue  <-------  _RayWorker.run(work): work(ctx, ...)

Machines share no memory, so everything a worker sees travels as a message: its ``ctx`` (a
``RayWorkerContext``) asks the hub for the stop flag and the version (at most every 50 ms) and for the
weights (only when newer), and puts results on the queue. Ray imports happen inside the functions, so
this file loads without Ray installed.
"""

from __future__ import annotations

import math
import os
import time
import uuid

import torch

from rlteach.checks import check_num_workers
from rlteach.local_pool import WorkerContext, WorkerError, WorkerPool


def ray_init(address=None) -> bool:
    """Start a Ray of our own on this machine, or join the cluster at ``address`` ("auto": the one this
    machine joined with ``ray start``; "ray://host:10001"), unless Ray is already initialised in this process.
    True if this call started it. Usage statistics stay off.

    Quiet in a notebook: the workers' own prints and warnings stay in Ray's log files (``log_to_driver=False``;
    a worker's exception still reaches ``train`` with its traceback), and what Ray itself still prints (a
    restarted actor's task: "(raylet) Task ... will be retried") comes without terminal colour codes, which a
    saved notebook would show as raw escapes."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_COLOR_PREFIX", "0")      # read by Ray each time it prints a line
    import ray

    if ray.is_initialized():
        return False
    if address is None:     # "local": a new Ray of our own, even where another one runs on this machine
        ray.init(address="local", include_dashboard=False, configure_logging=True, logging_level="ERROR",
                 log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)
    return True


def fit_num_cpus(num_workers, num_cpus=None, settle=10.0) -> float:
    """CPUs each Ray worker asks for. Ray starts an actor only where its CPUs are free; one that asks for
    more than the cluster has waits PENDING, silently, for ever. So: ``None`` shares the free CPUs out (at
    most 1 each, so 4 workers on 2 cores ask for 0.5 each), and an explicit request that cannot fit is a
    ValueError now instead of a hang later. Ray frees a stopped pool's CPUs a moment after its actors die,
    so first wait up to ``settle`` seconds for the CPUs this pool would like to become free."""
    import ray

    wanted = min(ray.cluster_resources().get("CPU", 0.0), num_workers * (1.0 if num_cpus is None else num_cpus))
    deadline = time.monotonic() + settle
    while ray.available_resources().get("CPU", 0.0) < wanted - 1e-9 and time.monotonic() < deadline:
        time.sleep(0.05)
    free = ray.available_resources().get("CPU", 0.0)
    if num_cpus is None:
        num_cpus = min(1.0, math.floor(free / num_workers * 1e4) / 1e4)
        if num_cpus <= 0:
            raise ValueError(f"the Ray cluster has {free} free CPUs: no room for {num_workers} workers")
        return num_cpus
    check_num = num_workers * num_cpus
    if num_cpus <= 0 or check_num > free + 1e-9:
        raise ValueError(f"{num_workers} workers x num_cpus={num_cpus} = {check_num} CPUs, but the Ray cluster "
                         f"has {free} free: the rest would wait PENDING for ever. Use fewer workers, a smaller "
                         "num_cpus (a fraction such as 0.5 is fine) or num_cpus=None, or add nodes.")
    return num_cpus


class _RayHub:
    """What a Ray pool shares with its workers, held by one Ray actor: the stop flag, the published weights
    with their version, and how many times each worker has started (a restarted worker starts again)."""

    def __init__(self, template, num_workers):
        self.stopping, self.version, self.state = False, 0, template
        self.starts, self.nodes = [0] * num_workers, [None] * num_workers

    def started(self, index, node):
        self.starts[index] += 1
        self.nodes[index] = node

    def where(self) -> dict:
        """The node each worker runs on now, and how many restarts there were."""
        return {"nodes": list(self.nodes), "restarts": sum(max(0, n - 1) for n in self.starts)}

    def publish(self, state):
        self.state, self.version = state, self.version + 1

    def status(self):
        return self.stopping, self.version

    def weights_after(self, version):
        return (self.version, self.state) if self.version > version else (version, None)

    def stop(self):
        self.stopping = True


class RayWorkerContext(WorkerContext):
    """WorkerContext for a Ray actor. ``should_stop`` and ``version`` are called every env step, so they
    read a local copy of the hub's status, refreshed at most every ``refresh`` seconds (one remote call);
    ``weights`` asks the hub for the state only when that copy shows a newer version."""

    def __init__(self, index, hub, results, refresh=0.05):
        self.index, self._hub, self._results, self._refresh = index, hub, results, refresh
        self._status, self._checked = (False, 0), float("-inf")

    def _poll(self):
        import ray

        if time.monotonic() - self._checked > self._refresh:
            self._status, self._checked = ray.get(self._hub.status.remote()), time.monotonic()
        return self._status

    def should_stop(self) -> bool:
        return self._poll()[0]

    def version(self) -> int:
        return self._poll()[1]

    def weights(self, model, version=-1) -> int:
        import ray

        if self.version() <= version:
            return version
        new_version, state = ray.get(self._hub.weights_after.remote(version))
        if state is not None:
            model.load_state_dict(state)
        return new_version


class _RayWorker:
    """The Ray actor that runs one worker function (the same function the other backends run)."""

    def ready(self):
        """Answers as soon as the actor is up (``start`` waits for this)."""

    def run(self, work, index, hub, results, args):
        import ray

        torch.set_num_threads(1)
        ray.get(hub.started.remote(index, ray.get_runtime_context().get_node_id()))
        work(RayWorkerContext(index, hub, results), *args)


class RayPool(WorkerPool):
    """``make_pool(..., backend="ray")``: each worker is a Ray actor, so workers may run on any machine of
    a Ray cluster. Ray is started here unless it is running already (``ray_address`` joins a cluster).

    - Workers spread over the cluster's nodes (``scheduling_strategy="SPREAD"``) and each asks for
      ``num_cpus`` (see ``fit_num_cpus``); ``start`` waits at most ``start_timeout`` s for all of them to
      come up, then raises instead of leaving them PENDING.
    - A worker that dies (its process killed, its node lost) is restarted up to ``max_restarts`` times and
      its ``work`` call runs again from the top; ``restarts()`` counts those restarts.
    - Results travel through a Ray queue (an actor); weights through the hub actor and the object store.
    """

    def __init__(self, work, num_workers, backend="ray", args=(), weights=None, max_queue=0, join_timeout=5.0,
                 ray_address=None, num_cpus=None, max_restarts=3, start_timeout=60.0):
        import ray
        from ray.util.queue import Queue

        check_num_workers(num_workers)
        self.started_ray = ray_init(ray_address)
        self.work, self.num_workers, self.backend, self.args = work, num_workers, "ray", tuple(args)
        self.join_timeout, self.max_restarts, self.start_timeout = join_timeout, max_restarts, start_timeout
        self.settle = 1.0      # seconds ``check`` gives a worker's death to show after another worker's error
        self.num_cpus = fit_num_cpus(num_workers, num_cpus)
        self.name = f"rlteach-{uuid.uuid4().hex[:8]}"
        template = None if weights is None else {k: v.detach().cpu() for k, v in weights.items()}
        self.hub = ray.remote(num_cpus=0)(_RayHub).remote(template, num_workers)
        self.has_weights, self._version = weights is not None, 0
        self.results = Queue(maxsize=max_queue, actor_options={"num_cpus": 0})
        self.workers, self.refs, self.leftovers, self.final_where = [], [], [], None

    def start(self):
        import ray

        actor_class = ray.remote(_RayWorker)
        ready = []
        for i in range(self.num_workers):
            worker = actor_class.options(
                name=f"{self.name}-worker-{i}", num_cpus=self.num_cpus, scheduling_strategy="SPREAD",
                max_restarts=self.max_restarts, max_task_retries=-1,   # after a restart, run ``work`` again
            ).remote()
            self.workers.append(worker)
            ready.append(worker.ready.remote())         # an actor runs its calls in order: this one first
            self.refs.append(worker.run.remote(self.work, i, self.hub, self.results, self.args))
        try:
            ray.get(ready, timeout=self.start_timeout)
        except ray.exceptions.GetTimeoutError:
            self.stop()
            raise RuntimeError(f"{self.num_workers} Ray workers asking for {self.num_cpus} CPUs each did not all "
                               f"start within {self.start_timeout} s (PENDING?). Free resources now: "
                               f"{ray.available_resources()}") from None
        return self

    def stop(self):
        """Ask every worker to return; after ``join_timeout`` s kill what is left, then the hub and the queue.
        Ray itself keeps running (the next pool starts fast); ``ray.shutdown()`` ends it."""
        import ray

        self.hub.stop.remote()
        deadline = time.monotonic() + self.join_timeout
        while self.alive() and time.monotonic() < deadline:
            self._collect_leftovers(timeout=0.05)
        self._collect_leftovers(timeout=0)
        for worker in self.workers:
            ray.kill(worker)
        self.final_where = self.where()
        ray.kill(self.hub)
        self.results.shutdown()

    def _collect_leftovers(self, timeout):
        if self.results.actor is None:                  # the queue is already shut down
            return
        super()._collect_leftovers(timeout)

    def check(self):
        """Raise WorkerError if a worker's ``work`` raised, or its actor died past ``max_restarts``. A worker's
        error may be the consequence of another's death (DD-PPO's all-reduce losing its partner), so a death
        gets ``settle`` seconds to show, and is named first."""
        failures = self._failures(timeout=0)
        if not failures:
            return
        if not any(died for _, died, _ in failures) and len(self.refs) > 1:
            failures = self._failures(timeout=self.settle)
        index, _, exc = sorted(failures, key=lambda f: not f[1])[0]
        self.stop()
        raise WorkerError(f"worker {index} (ray backend) failed; its traceback:\n{exc}") from None

    def _failures(self, timeout) -> list:
        """(index, whether its actor died, the exception) of every worker whose ``run`` has failed."""
        import ray

        if timeout:
            ray.wait(self.refs, num_returns=len(self.refs), timeout=timeout)
        ready, _ = ray.wait(self.refs, num_returns=len(self.refs), timeout=0)
        failures = []
        for index, ref in enumerate(self.refs):
            if ref in ready:
                try:
                    ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a worker's failure, with its traceback
                    failures.append((index, isinstance(exc, ray.exceptions.RayActorError), exc))
        return failures

    def publish(self, state_dict) -> int:
        """Send new weights to the hub without waiting for it (calls from one caller run in order)."""
        if not self.has_weights:
            raise RuntimeError("this pool was made without weights=...: nothing to publish into")
        self.hub.publish.remote({k: v.detach().cpu() for k, v in state_dict.items()})
        self._version += 1
        return self._version

    def alive(self) -> int:
        import ray

        if not self.refs:
            return 0
        ready, _ = ray.wait(self.refs, num_returns=len(self.refs), timeout=0)
        return len(self.refs) - len(ready)

    def where(self) -> dict:
        """{"nodes": the node id each worker runs on (None until it started), "restarts": how many times workers
        were restarted after dying}."""
        import ray

        return self.final_where or ray.get(self.hub.where.remote())

    def restarts(self) -> int:
        return self.where()["restarts"]

    def kill(self, index):
        """Kill worker ``index``'s process, as a crash would (Ray restarts it): for fault-tolerance demos."""
        import ray

        ray.kill(self.workers[index], no_restart=False)

    def describe(self) -> dict:
        """Where the workers run: their actor names, node ids and CPUs each."""
        return {**super().describe(), "names": [f"{self.name}-worker-{i}" for i in range(self.num_workers)],
                "num_cpus": self.num_cpus, **self.where()}
