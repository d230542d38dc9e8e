"""An actor pool: N workers run plain-Python code on threads or on processes, behind one small API.

    pool = make_pool(work, num_workers=4, backend="thread", args=(shared_model,))
    with pool:                                   # starts the workers; stops them on leaving, whatever happens
        while not done:
            item = pool.get(timeout=1.0)         # a result a worker put (None on timeout); re-raises a worker error
            pool.publish(model.state_dict())     # new weights: version 1, 2, ...

A worker is a plain function ``work(ctx, *args)``. ``ctx`` (a ``WorkerContext``) is all it sees of the pool:

    ctx.index          which worker this is, 0 .. N-1
    ctx.should_stop()  True once the pool is stopping: return soon (check it every step or so)
    ctx.put(item)      send a result to the learner (``pool.get``); waits while a bounded queue is full
    ctx.weights(model, version)  copy newer published weights into ``model``; returns the version it has
    ctx.version()      the latest published version, without copying anything (e.g. to wait for the learner)

Backends
--------
"thread"   threading.Thread. Shares everything (one model, one optimizer) with no copying; Python's GIL lets
           only one thread run Python code at a time, but torch releases it inside its kernels.
"process"  torch.multiprocessing with the "spawn" start method: a fresh interpreter per worker (safe with
           torch and inside Jupyter). Arguments are pickled; tensors in shared memory (``share_memory_()``)
           stay shared, which is how A3C's processes update one model. Each process runs
           ``torch.set_num_threads(1)`` and ignores Ctrl-C: the parent decides when workers stop.
"ray"      Ray actors (``RayPool``, in rlteach/ray_backend.py): workers may run on any machine of a Ray
           cluster. Nothing is shared in memory: arguments, results and weights (``publish`` and
           ``ctx.weights``) travel through Ray. Ray starts on this machine unless it runs already or
           ``ray_address=`` names a cluster. Workers that die are restarted (``max_restarts``). Ray is the
           optional extra ``ray``.

Failure and stopping
--------------------
An exception in any worker stops every worker and is re-raised by the pool's next ``get``/``check`` as
``WorkerError`` carrying the worker's own traceback. ``stop()`` asks workers to return, waits up to
``join_timeout`` seconds, then terminates (and kills) any process still alive: nothing is left behind after
an error, a KeyboardInterrupt or a normal finish.

Random streams
--------------
Every random stream of a run comes from ONE ``numpy.random.SeedSequence(config.seed)``, spawned once per use
and each use once per worker: ``stream_seed(seed, "env", i)`` is worker i's env seed. Streams never share a
seed, within a run or between runs (``seed * 1000 + i`` would give run 1's worker 0 the seed of run 0's
worker 1000). A worker gets plain ints, which pickle to processes and Ray actors like any argument.
"""

from __future__ import annotations

import numpy as np

from rlteach.checks import ALL_BACKENDS, LOCAL_BACKENDS, check_backend
from rlteach.local_pool import WorkerContext, WorkerError, WorkerPool, new_lock

BACKENDS = LOCAL_BACKENDS       # the two on this machine; ALL_BACKENDS adds "ray" (rlteach.ray_backend)
__all__ = ["ALL_BACKENDS", "BACKENDS", "STREAMS", "InProcessContext", "WorkerContext", "WorkerError", "WorkerPool",
           "make_pool", "new_lock", "ray_options", "stream_seed"]

# The uses of randomness, in a fixed order (a new use goes at the end, so the others keep their seeds):
STREAMS = (
    "weights",       # torch's global generator: initial weights (and A2C's actions, drawn after them)
    "env",           # env.reset(seed=...): start states; a vector env gives its env k that seed + k
    "actions",       # a worker's own sampler of a ~ pi(.|s) (A3C's NumpyPolicy, an IMPALA actor's generator)
    "explore",       # Ape-X: the coin that decides between a random and the greedy action
    "action_space",  # Ape-X: env.action_space.sample(), the random action
    "replay",        # sampling from a replay: Ape-X's prioritized one, IMPALA's replay of past unrolls
)


def stream_seed(seed: int, use: str, worker: int = 0) -> int:
    """The seed of one random stream: ``use`` (one of STREAMS) of worker ``worker`` in the run seeded ``seed``.

    It is child ``worker`` of child ``STREAMS.index(use)`` of ``SeedSequence(seed)``, that is
    ``SeedSequence(seed).spawn(...)[STREAMS.index(use)].spawn(...)[worker]``, as a 64-bit int. Streams used
    once per run (weights, replay) are worker 0's."""
    key = (STREAMS.index(use), worker)
    return int(np.random.SeedSequence(seed, spawn_key=key).generate_state(1, np.uint64)[0])


def make_pool(work, num_workers, backend="thread", *, args=(), weights=None, max_queue=0, join_timeout=5.0,
              **ray_kwargs):
    """The front door: an actor pool of ``num_workers`` workers running ``work(ctx, *args)`` on ``backend``.

    ``weights``: a template state_dict for ``publish``/``ctx.weights`` (None when workers need none);
    ``max_queue``: results waiting at most (0: unbounded); ``join_timeout``: seconds ``stop`` waits before it
    terminates what is left. With backend "ray", ``ray_kwargs`` go to ``RayPool`` (``ray_address``,
    ``num_cpus``, ``max_restarts``, ``start_timeout``); Ray is imported only then."""
    check_backend(backend)
    if backend == "ray":
        from rlteach.ray_backend import RayPool

        return RayPool(work, num_workers, args=args, weights=weights, max_queue=max_queue,
                       join_timeout=join_timeout, **ray_kwargs)
    if ray_kwargs:
        raise ValueError(f"{sorted(ray_kwargs)} only apply to backend='ray', not backend={backend!r}")
    return WorkerPool(work, num_workers, backend, args=args, weights=weights, max_queue=max_queue,
                      join_timeout=join_timeout)


def ray_options(config) -> dict:
    """The extra ``make_pool`` arguments a Config asks for: where Ray runs, when its backend is "ray"."""
    return {"ray_address": config.ray_address} if config.backend == "ray" else {}


class InProcessContext:
    """Runs ONE worker function in the caller's thread, with no pool: ``work(InProcessContext(...), *args)``
    sees the same five members as on any backend. For the lab, tests and notebooks, to look at what one actor
    sends.

    ``put`` keeps each item in ``sent``; ``should_stop()`` turns True after ``stop_after`` items (None: never).
    ``weights(model, version)`` loads ``state`` (a state_dict) into ``model`` and returns ``state_version``
    when that is newer than ``version``. ``version()`` is ``learner_version``, the version the learner has
    published: far ahead by default, so Ape-X's flow control never holds the actor back."""

    def __init__(self, state=None, *, index=0, stop_after=None, state_version=0, learner_version=10**9):
        self.state, self.index, self.stop_after = state, index, stop_after
        self.state_version, self.learner_version, self.sent = state_version, learner_version, []

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.sent) >= self.stop_after

    def put(self, item) -> bool:
        self.sent.append(item)
        return True

    def weights(self, model, version=-1) -> int:
        if self.state is None or self.state_version <= version:
            return version
        model.load_state_dict(self.state)
        return self.state_version

    def version(self) -> int:
        return self.learner_version
