"""How fast can we collect experience? Env steps per second, four ways, measured on your machine.

A distributed RL system spends most of its time producing experience: observations go into a policy,
actions come out and go into an environment. The source article names two ways to do this in parallel:

    agent-parallelism        "Multiple agents interact with the environment at the same time, each
                              exploring and learning independently."  Here: N actor PROCESSES, each with
                              its own copy of the policy and its own env (mode "processes"). This is what
                              A3C, Ape-X and IMPALA actors do.
    environment-parallelism  "One agent interacts with many environments at once; each environment runs
                              independently and provides different experience."  Here: ONE policy and a
                              gymnasium vector env of N envs; each vector step is ONE batched forward
                              pass for all N observations (modes "sync" and "async").

The four modes ``measure`` knows, all with the same small MLP policy (obs -> 64 -> 64 -> actions):

    "single"     one env, one policy forward per step: the baseline.
    "sync"       SyncVectorEnv: N envs stepped one after another in this process, one batched forward.
                 Wins by amortising the forward pass (and Python overhead) over N envs.
    "async"      AsyncVectorEnv: N envs in N subprocesses, one batched forward. Envs step in parallel,
                 but every step sends actions and observations through pipes (inter-process
                 communication, IPC). For a cheap env like CartPole the IPC costs more than the step.
    "processes"  N independent actor processes, each running the "single" loop. No communication while
                 they run; on a machine with C cores, more than C workers cannot help.

Counting: ``steps`` is the total number of individual env steps. A vector step of N envs counts as N
steps, so vector modes take ceil(steps / N) vector steps; "processes" splits steps among its workers.
Start-up (making envs, starting processes, importing torch) and a short warm-up are not timed.
``step_seconds`` times one env step alone: what a message between processes is weighed against.
One timing is one sample of a noisy quantity: ``compare(..., repeats=3)`` measures every setting three
times, and ``rates`` hands the repeats to ``rlteach.verdict.compare``, which says whether a gap is noise.
Every mode runs torch on one thread, so the comparison is about parallelism, not about torch's
own intra-op threads.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from functools import partial

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlteach.checks import check_env, check_int
from rlteach.envs import close_vector_env, make_env, stop_processes
from rlteach.messages import tr
from rlteach.nets import torch_threads
from rlteach.progress import tqdm

MODES = ("single", "sync", "async", "processes")
DEFAULT_STEPS = 10_000  # per measurement; a default ``compare`` takes ~20 s on a 2-core laptop
WARMUP_STEPS = 20  # untimed (vector) steps before the clock starts: first-call costs are not throughput
BARRIER_TIMEOUT_S = 120  # how long an actor process waits for its slowest sibling to start
_REGISTRY_HINT = ("\nHint: subprocesses are fresh interpreters, so an env registered at run time (in a "
                  "notebook) is unknown there; register it in a module, pass env_id='module:EnvName-v0'.")


@dataclass
class Measurement:
    """One timed run. ``steps_per_second = steps / seconds``.

    mode     one of MODES.         num_envs  N, the number of envs (or actor processes).
    steps    env steps actually taken (and timed).      seconds  wall-clock time of the timed part.
    pids     the process ids that stepped the envs: this process for "single"/"sync", the env
             subprocesses for "async", the actor processes for "processes".
    repeat   which round of ``compare(..., repeats=...)`` it belongs to (0 for the first).
    """

    mode: str
    num_envs: int
    steps: int
    seconds: float
    pids: tuple[int, ...] = ()
    repeat: int = 0
    steps_per_second: float = field(init=False)

    def __post_init__(self):
        self.steps_per_second = self.steps / self.seconds

    def __str__(self):
        return tr("{mode:<9} N={num_envs:<2} {steps:>7} steps in {seconds:.2f} s = {rate:,.0f} steps/s",
                  mode=self.mode, num_envs=self.num_envs, steps=self.steps, seconds=self.seconds,
                  rate=self.steps_per_second)


# --- the policy: a small MLP that samples actions -------------------------------------------------------

def make_policy(obs_dim: int, num_actions: int, seed: int = 0) -> nn.Module:
    """The MLP obs_dim -> 64 -> 64 -> num_actions (logits), initialised from ``seed``.

    The same seed gives the same weights, so every actor process builds an identical copy."""
    with torch.random.fork_rng(devices=[]):  # leave the caller's random state alone
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(obs_dim, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                             nn.Linear(64, num_actions))


def act(policy: nn.Module, obs: np.ndarray) -> np.ndarray:
    """Sample one action per row of ``obs`` [B, obs_dim] from softmax(policy(obs)): ONE forward for B envs."""
    with torch.no_grad():
        logits = policy(torch.as_tensor(obs, dtype=torch.float32))
        return torch.multinomial(logits.softmax(-1), 1).squeeze(-1).numpy()


@contextlib.contextmanager
def _ctrl_c_held_back():
    """Hold back Ctrl-C while the block runs; raise its KeyboardInterrupt as soon as the block is done.

    For the steps that must not be cut in half: starting processes (a Ctrl-C half-way through
    ``Process.start()`` leaves a running child that no Process object knows) and stopping them.
    Only the main thread gets Python signal handlers; elsewhere, or while SIGINT is ignored, this does nothing.
    """
    handler = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(handler):
        yield
        return
    pressed = []
    signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        if pressed:
            handler(signal.SIGINT, None)  # the usual handler: raises KeyboardInterrupt


# --- checking the arguments before any work starts ------------------------------------------------------

def _check(mode: str, num_envs: int, steps: int, seed: int) -> None:
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not known; allowed: {', '.join(map(repr, MODES))}")
    check_int("num_envs", num_envs, 1)
    check_int("steps", steps, 1)
    check_int("seed", seed, 0)
    if mode == "single" and num_envs != 1:
        raise ValueError(f"num_envs={num_envs} with mode='single'; allowed: num_envs=1 (one env)")
    if steps < num_envs:
        raise ValueError(f"steps={steps} is less than num_envs={num_envs}; allowed: steps >= num_envs, "
                         "so that every env takes at least one step")


# --- 1. one env, one forward per step (also the body of every actor process) -----------------------------

def _single_loop(env_id: str, env_kwargs, steps: int, seed: int, env_seed: int, before_timing=None) -> float:
    """Step one env ``steps`` times with ``act``; return the seconds the timed loop took.

    The policy's weights come from ``seed``, the env's episodes from ``env_seed``."""
    env = make_env(env_id, env_kwargs)
    try:
        policy = make_policy(env.observation_space.shape[0], int(env.action_space.n), seed)
        obs, _ = env.reset(seed=env_seed)
        for t in range(WARMUP_STEPS + steps):
            if t == WARMUP_STEPS:
                if before_timing is not None:
                    before_timing()
                start = time.perf_counter()
            action = act(policy, obs[None])[0]
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset()
        return time.perf_counter() - start
    finally:
        env.close()


# --- 2. and 3. environment-parallelism: one policy, a vector of N envs ----------------------------------

def _vector_loop(env_id: str, env_kwargs, num_envs: int, steps: int, seed: int, asynchronous: bool):
    """Step a Sync/AsyncVectorEnv with one batched forward per vector step; return (steps, seconds, pids)."""
    env_fns = [partial(make_env, env_id, env_kwargs)] * num_envs
    # SAME_STEP: an env that finishes is reset inside the same step() call, so every vector step really
    # steps all N envs (the default NEXT_STEP spends the following step on the reset instead).
    same_step = gym.vector.AutoresetMode.SAME_STEP
    envs = None
    try:
        if asynchronous:  # "spawn": a fresh interpreter per env, safe with torch threads and in Jupyter
            # AsyncVectorEnv starts its processes and waits until each answers (seconds, under load). Cut
            # short by Ctrl-C, it would leave the ones already started running with no ``envs`` to close
            # them, so Ctrl-C waits until they are up and then stops them all (the ``finally`` below).
            with _ctrl_c_held_back():
                envs = gym.vector.AsyncVectorEnv(env_fns, context="spawn", autoreset_mode=same_step)
            pids = tuple(process.pid for process in envs.processes)
        else:
            envs = gym.vector.SyncVectorEnv(env_fns, autoreset_mode=same_step)
            pids = (os.getpid(),)
        policy = make_policy(envs.single_observation_space.shape[0], int(envs.single_action_space.n), seed)
        vector_steps = math.ceil(steps / num_envs)
        obs, _ = envs.reset(seed=seed)
        for t in range(WARMUP_STEPS + vector_steps):
            if t == WARMUP_STEPS:
                start = time.perf_counter()
            obs, _, _, _, _ = envs.step(act(policy, obs))  # finished envs reset themselves
        return vector_steps * num_envs, time.perf_counter() - start, pids
    except (ConnectionError, EOFError) as error:  # an env subprocess died; gymnasium printed its traceback
        raise RuntimeError(f"an AsyncVectorEnv subprocess running {env_id!r} died; its traceback is "
                           f"printed above.{_REGISTRY_HINT}") from error
    finally:
        if envs is not None:
            with _ctrl_c_held_back():  # a second Ctrl-C must not cut the clean-up short
                close_vector_env(envs)


# --- 4. agent-parallelism: N actor processes, each with its own env and policy copy --------------------

def _actor_process(index: int, env_id: str, env_kwargs, steps: int, seed: int, barrier, results) -> None:
    """Runs in a child process: the single-env loop, started together with its siblings by ``barrier``.

    Reports ("ok", index, (pid, steps, seconds)) or ("error", index, traceback) on ``results``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's job: it terminates us
    torch.set_num_threads(1)
    torch.manual_seed(seed + index)  # same policy weights in every actor, different actions and episodes
    try:
        seconds = _single_loop(env_id, env_kwargs, steps, seed, env_seed=seed + index,
                               before_timing=partial(barrier.wait, BARRIER_TIMEOUT_S))
        results.put(("ok", index, (os.getpid(), steps, seconds)))
    except Exception:
        results.put(("error", index, traceback.format_exc()))


def _collect(results, processes: list, count: int) -> dict:
    """Wait for ``count`` reports; raise as soon as a worker reports an error or dies without reporting."""
    reports = {}
    while len(reports) < count:
        try:
            kind, index, payload = results.get(timeout=0.2)
        except queue.Empty:
            for index, process in enumerate(processes):
                if index not in reports and process.exitcode not in (None, 0):
                    raise RuntimeError(f"actor process {index} (pid {process.pid}) died with exit code "
                                       f"{process.exitcode} before reporting") from None
            continue
        if kind == "error":
            hint = _REGISTRY_HINT if "NameNotFound" in payload else ""
            raise RuntimeError(f"actor process {index} failed; its traceback:\n{payload}{hint}")
        reports[index] = payload
    return reports


def _process_loop(env_id: str, env_kwargs, num_envs: int, steps: int, seed: int):
    """Start N spawned actor processes, wait for all reports; return (steps, slowest seconds, pids).

    Throughput = total steps / the slowest worker's time: the batch is done when the last actor is."""
    context = mp.get_context("spawn")  # a fresh interpreter per worker: safe with torch and in Jupyter
    barrier, results = context.Barrier(num_envs), context.Queue()
    shares = [steps // num_envs + (i < steps % num_envs) for i in range(num_envs)]  # sums to steps
    processes = [context.Process(target=_actor_process, args=(i, env_id, env_kwargs, shares[i], seed, barrier, results),
                                 name=f"rlteach-actor-{i}", daemon=True) for i in range(num_envs)]
    try:
        for process in processes:
            with _ctrl_c_held_back():  # milliseconds; a Ctrl-C meanwhile is raised right after, then ``finally``
                process.start()
        reports = _collect(results, processes, num_envs)  # Ctrl-C here (while the actors run) raises at once
    finally:  # on success, error or KeyboardInterrupt alike: leave no process behind
        with _ctrl_c_held_back():  # a second Ctrl-C must not cut the clean-up short
            stop_processes(processes)
            results.close()
    pids = tuple(reports[i][0] for i in range(num_envs))
    return sum(r[1] for r in reports.values()), max(r[2] for r in reports.values()), pids


# --- the public API --------------------------------------------------------------------------------------

def measure(mode: str, env_id: str = "CartPole-v1", num_envs: int = 1, steps: int = DEFAULT_STEPS,
            seed: int = 0, env_kwargs: dict | None = None) -> Measurement:
    """Time ``steps`` env steps of ``env_id`` in one of MODES with N = ``num_envs``; see the module docstring.

    mode      "single", "sync", "async" or "processes".
    env_id    a gymnasium id with a 1-D Box observation and a Discrete action ("CartPole-v1", "Acrobot-v1").
    num_envs  N: envs in the vector env, or actor processes. Must be 1 for "single".
    steps     total env steps to time, >= num_envs (vector modes round up to whole vector steps).
    seed      seeds the policy's weights, the envs and the action sampling.
    env_kwargs  passed to gym.make, e.g. {"delay_ms": 1.0, "mode": "busy"} for rlteach/SlowCartPole-v1.

    Raises ValueError (TypeError for a wrong type) naming the argument before any work starts, and
    RuntimeError with the worker's traceback if an actor process or an env subprocess fails.
    Ctrl-C (KeyboardInterrupt) at any moment stops every process this call started, then reaches you.
    """
    _check(mode, num_envs, steps, seed)
    check_env(env_id, env_kwargs=env_kwargs)
    if mode == "processes":
        taken, seconds, pids = _process_loop(env_id, env_kwargs, num_envs, steps, seed)
    else:
        with torch_threads(1), torch.random.fork_rng(devices=[]):   # the caller's settings come back after
            torch.manual_seed(seed)
            if mode == "single":
                taken, seconds, pids = steps, _single_loop(env_id, env_kwargs, steps, seed, seed), (os.getpid(),)
            else:
                taken, seconds, pids = _vector_loop(env_id, env_kwargs, num_envs, steps, seed, mode == "async")
    return Measurement(mode, num_envs, taken, seconds, pids)


def compare(env_id: str = "CartPole-v1", num_envs=(1, 2, 4), steps: int = DEFAULT_STEPS, seed: int = 0,
            modes=MODES, progress: bool = True, env_kwargs: dict | None = None,
            repeats: int = 1) -> list[Measurement]:
    """``measure`` every mode in ``modes`` at every N in ``num_envs`` ("single" once, at N=1), ``repeats`` times.

    The repeats run in rounds (every setting once, then every setting again, ...), so that a slow change of
    the machine's load falls on every setting alike; each Measurement's ``repeat`` says its round, and
    ``rates`` groups them. Repeats are what tell a difference from noise (``rlteach.verdict.compare``).
    All arguments are checked before the first measurement. ``progress`` shows a tqdm bar.
    """
    modes, num_envs = tuple(modes), tuple(num_envs)
    if not modes or not num_envs:
        raise ValueError(f"modes={modes!r} and num_envs={num_envs!r} must both be non-empty")
    check_int("repeats", repeats, 1)
    jobs = [(mode, n) for mode in modes for n in ((1,) if mode == "single" else num_envs)]
    for mode, n in jobs:
        _check(mode, n, steps, seed)
    check_env(env_id, env_kwargs=env_kwargs)
    rounds = [(r, mode, n) for r in range(repeats) for mode, n in jobs]
    return [replace(measure(mode, env_id, n, steps, seed, env_kwargs), repeat=r)
            for r, mode, n in tqdm(rounds, desc=tr("measuring"), disable=not progress)]


def rates(measurements) -> dict[tuple[str, int], np.ndarray]:
    """{(mode, N): the steps/s of every repeat, in round order} from ``compare``'s list."""
    grouped: dict[tuple[str, int], list[float]] = {}
    for m in sorted(measurements, key=lambda m: m.repeat):
        grouped.setdefault((m.mode, m.num_envs), []).append(m.steps_per_second)
    return {key: np.array(values) for key, values in grouped.items()}


def step_seconds(env_id: str = "CartPole-v1", steps: int = 2_000, seed: int = 0,
                 env_kwargs: dict | None = None) -> float:
    """The mean wall-clock seconds of ONE ``env.step`` call, in this process, with random actions.

    Only the ``step`` calls are timed (no policy, no resets): what a message between processes is weighed
    against. ``steps`` calls are timed after ``WARMUP_STEPS`` untimed ones; an episode that ends is reset.
    """
    check_int("steps", steps, 1)
    check_int("seed", seed, 0)
    check_env(env_id, env_kwargs=env_kwargs)
    env = make_env(env_id, env_kwargs)
    try:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        timed = 0.0
        for t in range(WARMUP_STEPS + steps):
            action = env.action_space.sample()
            start = time.perf_counter()
            _, _, terminated, truncated, _ = env.step(action)
            if t >= WARMUP_STEPS:
                timed += time.perf_counter() - start
            if terminated or truncated:
                env.reset()
        return timed / steps
    finally:
        env.close()
