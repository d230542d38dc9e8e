"""When distribution pays: every design on three workloads, timed the same way (notebook 07, ``make bench``).

The article's question (FAQ 9.1): environment-parallelism or agent-parallelism, threads or processes? The
answer depends on what one env step costs and whether it holds the GIL, so every design runs on:

    WORKLOADS   "cartpole"  CartPole-v1: a step costs ~10 microseconds, far less than any message
                "sleep"     rlteach/SlowCartPole-v1, 1 ms per step spent waiting (the GIL is free)
                "busy"      rlteach/SlowCartPole-v1, 1 ms per step computing in Python (the GIL is held)
    CONTENDERS  "a2c:sync", "a2c:async", "a2c:vector" (A2C's three ``vectorization`` modes, 8 envs), and
                "<a3c|impala|apex>:<thread|process>x<N>" (N workers or actors)

``run_one`` trains one contender on one workload until it is solved (rlteach.monitor's one criterion, the
evaluation on the env without its delay), or for at most ``max_seconds`` / ``max_steps`` (then: unsolved),
and returns a plain dict: time and env steps to solve, env steps/s, the evaluations (for learning curves
against wall-clock time) and where the time went. ``summarize`` takes the medians over seeds;
``decision_guide`` turns them into sentences, so that the guide says what the numbers say.

Where the time went: every 10 ms a timer signal interrupts the main thread, and the ``Profiler`` looks at the
Python stack of every thread of THIS process and files it under env stepping, acting, learning, waiting,
evaluating or other (``classify``). The threads of thread workers are in it; worker processes are not (their
share shows up as the learner's waiting). For an AsyncVectorEnv, "env stepping" is the wait for its
subprocesses. ``timed_workload`` is a known answer to check it against: a loop that times its own phases.
Why a timer and not a sampling thread, how it was checked, and what it still under-counts: the Profiler.
"""

from __future__ import annotations

import faulthandler
import importlib
import os
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter

import torch

from rlteach.envs import DEFAULT_DELAY_MS, SLOW_CARTPOLE, make_env
from rlteach.messages import tr
from rlteach.monitor import ALGORITHMS
from rlteach.nets import torch_threads

WORKLOADS = {
    "cartpole": ("CartPole-v1", None),
    "sleep": (SLOW_CARTPOLE, {"delay_ms": DEFAULT_DELAY_MS, "mode": "sleep"}),
    "busy": (SLOW_CARTPOLE, {"delay_ms": DEFAULT_DELAY_MS, "mode": "busy"}),
}
A2C_MODES = {"sync": "sync", "async": "async", "vector": "vector_entry_point"}
PHASES = ("env stepping", "acting", "learning", "waiting", "evaluating", "other")
EVAL_EVERY, EVAL_EPISODES = 2000, 10
MAX_SECONDS, MAX_STEPS = 120.0, 200_000     # a run that has not solved by then counts as unsolved


def contender_config(name: str, workload: str, seed: int, max_steps: int, delay_ms=None):
    """(the algorithm's module, the Config) a contender name stands for: "a2c:sync", "a3c:threadx8",
    "impala:processx2", ... on ``workload``; ``delay_ms`` replaces a slow workload's delay. A name that
    stands for nothing is a ValueError (and a bad setting the Config's own error)."""
    algorithm, _, how = name.partition(":")
    backend, _, n = how.partition("x")
    if algorithm not in ALGORITHMS or workload not in WORKLOADS:
        raise ValueError(f"{name!r} on {workload!r}: allowed algorithms {sorted(ALGORITHMS)}, workloads "
                         f"{sorted(WORKLOADS)}")
    one_process = algorithm in ("a2c", "ppo")          # one process stepping a vector env: no backend
    if one_process != (how in A2C_MODES) or (not one_process and not n.isdigit()):
        raise ValueError(f"{name!r}: A2C and PPO run as {', '.join(f'a2c:{m}' for m in A2C_MODES)} (or ppo:...); "
                         "the others as '<algorithm>:<thread|process>x<N>', e.g. 'a3c:threadx8'")
    env_id, env_kwargs = WORKLOADS[workload]
    if delay_ms is not None and env_kwargs is not None:
        env_kwargs = {**env_kwargs, "delay_ms": delay_ms}
    module = importlib.import_module(ALGORITHMS[algorithm])
    fields = dict(env_id=env_id, env_kwargs=env_kwargs, seed=seed, total_steps=max_steps, eval_every=EVAL_EVERY,
                  eval_episodes=EVAL_EPISODES)
    if one_process:
        fields["vectorization"] = A2C_MODES[how]
    else:
        fields["backend"] = backend
        fields["num_workers" if algorithm in ("a3c", "ddppo") else "num_actors"] = int(n)
    return module, module.Config(**fields)


# ---------------------------------------------------------------------------------------------------------
# Where the time went: a sampling profiler of this process's threads
# ---------------------------------------------------------------------------------------------------------

ENV_FILES = ("gymnasium/envs/", "gymnasium/wrappers/", "gymnasium/vector/", "gymnasium/core.py", "rlteach/envs.py",
             "stable_baselines3/common/vec_env/")
WAIT_FUNCS = {"wait", "acquire", "get", "sleep", "recv", "_recv", "_recv_bytes", "poll", "select", "join",
              "_wait_for_tstate_lock", "drain", "get_nowait",
              "wait_for_learner"}       # an Ape-X actor ahead of its learner (its time.sleep leaves no frame)
LEARN_FUNCS = {"rollout_gradients", "clip_by_global_norm", "apply", "learner_step", "learner_loss",
               "learner_inputs", "vtrace", "backward", "clip_grad_norm_", "train_step", "push",
               "receive", "publish",     # the learner taking in a message (Ape-X, IMPALA); sending its weights
               "ppo_update", "rollout_batch", "average_gradients"}   # PPO's epochs; DD-PPO's all-reduce
ACT_FUNCS = {"collect_rollout", "collect_rollouts", "sample", "sample_actions", "dist", "predict", "act",
             "_sample_action", "post", "send", "copy_to", "pull",
             "actor", "greedy",          # Ape-X's and IMPALA's actor loops; a Q-network's greedy action
             "serve_once"}               # SEED RL's inference server
LEARNER_FILES = ("rlteach/replay.py",)   # the replay is the learner's: its sample() is no actor's sample()
SB3_LEARNERS = ("stable_baselines3/a2c/", "stable_baselines3/ppo/", "stable_baselines3/dqn/")


def classify(frames) -> str | None:
    """The phase of one thread, from its stack as (filename, function) pairs, innermost first; None for a
    thread that is not part of the run (no rlteach or SB3 frame: tqdm's, Ray's, queue feeders)."""
    files = [f.replace("\\", "/") for f, _ in frames]
    if not any("rlteach/" in f or "stable_baselines3/" in f for f in files):
        return None
    if any(f.endswith("rlteach/monitor.py") and fn == "evaluate" for f, (_, fn) in zip(files, frames, strict=True)):
        return "evaluating"
    if any(part in f for f in files for part in ENV_FILES):
        return "env stepping"
    if frames[0][1] in WAIT_FUNCS:
        return "waiting"
    for f, (_, fn) in zip(files, frames, strict=True):
        if fn in LEARN_FUNCS or "torch/optim/" in f or f.endswith("shared_optim.py") or (
                "torch/autograd/" in f and not f.endswith("grad_mode.py")):    # torch.no_grad(): actors' too
            return "learning"
        if fn in ACT_FUNCS and not f.endswith(LEARNER_FILES):
            return "acting"
        if fn == "train" and (f.endswith("rlteach/policy_gradient.py") or any(s in f for s in SB3_LEARNERS)):
            return "learning"               # A2C learns inline in train(); SB3's train() is its learner
    return "other"


SWITCH_INTERVAL = 20e-6     # Python's thread switch interval while a Profiler runs (its default is 5 ms)


THREAD_HEADER = re.compile(r"^(Current thread|Thread) 0x[0-9a-f]+")
FRAME_LINE = re.compile(r'^  File "(.*)", line \S+ in (.+)$')


def all_stacks(fd) -> list:
    """Every thread's stack as (filename, function) pairs, innermost first; the calling thread's comes without
    the frames of the handler (``look``) that asked. ``faulthandler.dump_traceback`` writes them into ``fd``
    (an open file; rewritten each time) and they are read back. That is one call into C, which holds the GIL
    throughout and creates no frame objects. Walking ``sys._current_frames()`` with ``f_back`` (this
    profiler's second version) once crashed the interpreter: a segmentation fault reading ``f_back`` in a run
    with 8 worker threads, a known hazard of Python 3.11's frame objects for other threads (CPython issues
    99110 and 111363)."""
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    faulthandler.dump_traceback(fd, all_threads=True)
    size = os.lseek(fd, 0, os.SEEK_CUR)
    text = os.pread(fd, size, 0).decode("utf-8", "replace")
    stacks, frames, current = [], None, False
    for line in text.splitlines():
        header = THREAD_HEADER.match(line)
        if header:
            frames, current = [], header.group(1) == "Current thread"
            stacks.append(frames)
        elif frames is not None and (match := FRAME_LINE.match(line)):
            frames.append(match.groups())
        if current and frames and frames[-1][1] == "look":      # this thread: drop the handler's own frames
            frames.clear()
            current = False
    return stacks


class Profiler:
    """``with Profiler() as p: ...``; then ``p.shares()``: the fraction of the run's thread time per phase.

    A timer of the operating system (``signal.setitimer``) interrupts the main thread every ``interval``
    seconds, wherever it is, and the handler, ``look``, files the stack of every thread (``all_stacks``)
    under its phase (``classify``). A look counts for the time since the previous one, so a look that a long
    C call delays (the handler runs when the call returns) still counts for all that time. Enter it from the
    main thread: Python runs signal handlers there. A SIGALRM timer already set (pytest-timeout's) is put
    back after.

    Why a timer signal, and not a thread that wakes up every ``interval`` (this profiler's first version):
    to look, a thread needs the GIL, and the thread holding it lets go at its next torch op (torch releases
    the GIL) or after Python's switch interval, whichever comes first. So nearly every look of that sampler
    landed on a torch op, and the pure-Python env step just before it was hardly ever seen: it filed almost
    none of A2C's CartPole time under env stepping, where timing the ``step`` calls found a real share. The
    timer catches the main thread where it is. Another thread is seen where it stands, or, if it held the
    GIL when the timer fired, where it next lets go of it: ``SWITCH_INTERVAL`` makes that within about a
    tenth of a millisecond, but a thread worker's pure-Python stretch shorter than that (one CartPole step)
    is still somewhat under-counted.

    How it was checked (tests/test_side_by_side.py): on ``timed_workload``, whose phases time themselves,
    every share within a few points of the timed one; on A2C (one thread), env stepping within a few points
    of its vector env's ``step`` calls timed with ``time.perf_counter`` in the same run. By hand, the same
    timing for A3C's and Ape-X's thread workers agreed within a few points of all thread time too.
    """

    def __init__(self, interval=0.01):
        self.interval, self.seconds = interval, Counter()       # seconds: phase -> thread seconds
        # how many looks, and the seconds they took (waiting for the GIL included: with busy threads a look
        # waits its turn while they run, so a look takes milliseconds but the run does not slow down)
        self.looks, self.look_seconds, self._looking = 0, 0.0, False

    def look(self, signum, frame):
        """The SIGALRM handler: every thread's phase, counted for the time since the previous look. A signal
        that comes while a look runs is skipped (the next look counts its time): Python would run the handler
        again inside the first, and with busy threads taking the GIL from it, again and again."""
        if self._looking:
            return
        self._looking = True
        try:
            now = time.perf_counter()
            elapsed, self._last = now - self._last, now
            for frames in all_stacks(self._dump.fileno()):
                phase = classify(frames)          # None for an empty stack, as for any thread not in the run
                if phase is not None:
                    self.seconds[phase] += elapsed
            self.looks, self.look_seconds = self.looks + 1, self.look_seconds + time.perf_counter() - now
        finally:
            self._looking = False

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("Profiler: enter it from the main thread (its timer signal is handled there)")
        self._dump = tempfile.TemporaryFile()       # where all_stacks has the stacks written
        self._saved = sys.getswitchinterval(), signal.getsignal(signal.SIGALRM)
        sys.setswitchinterval(SWITCH_INTERVAL)
        signal.signal(signal.SIGALRM, self.look)
        self._entered = self._last = time.perf_counter()
        self._saved_timer = signal.setitimer(signal.ITIMER_REAL, self.interval, self.interval)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        self._dump.close()
        switch, handler = self._saved
        signal.signal(signal.SIGALRM, handler)
        sys.setswitchinterval(switch)
        delay, every = self._saved_timer
        if delay > 0:                       # someone else's timer was running: the rest of its time
            signal.setitimer(signal.ITIMER_REAL, max(delay - (time.perf_counter() - self._entered), 1e-3), every)

    def shares(self) -> dict:
        """{phase: its fraction of the thread time looked at} (every thread counts: two busy threads for one
        second are two seconds)."""
        total = sum(self.seconds.values())
        return {phase: (self.seconds[phase] / total if total else 0.0) for phase in PHASES}


def timed_workload(seconds=2.0, env_steps_per_update=8) -> dict:
    """A known answer to check the profiler against: A2C's loop in miniature, timing its own phases.

    For ``seconds``, in this thread: ``env_steps_per_update`` times, act (a forward of a small network: torch
    ops, which let go of the GIL) and step a CartPole (plain Python, some 10 microseconds, never letting go
    of it); then one learner step (forward, backward, optimizer step) and some bookkeeping in plain Python.
    Returns each phase's share of the time, from ``time.perf_counter`` around every act, step and learner
    step; the rest (the bookkeeping and the loop itself) is "other". The phases have the names ``classify``
    files them under (``act``, ``learner_step``; the env's frames are gymnasium's)."""
    clock, spent = time.perf_counter, Counter()
    env = make_env("CartPole-v1")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.Tanh(), torch.nn.Linear(64, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    batch = torch.randn(64, 4)

    def act(obs):
        with torch.no_grad():
            return int(model(torch.as_tensor(obs)).argmax())

    def learner_step():
        loss = model(batch).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def bookkeeping():
        return sum(i * i for i in range(100))

    obs, _ = env.reset(seed=0)
    with torch_threads(1):
        start = clock()
        while clock() - start < seconds:
            for _ in range(env_steps_per_update):
                t0 = clock()
                action = act(obs)
                t1 = clock()
                obs, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    obs, _ = env.reset()
                t2 = clock()
                spent["acting"] += t1 - t0
                spent["env stepping"] += t2 - t1
            t0 = clock()
            learner_step()
            spent["learning"] += clock() - t0
            bookkeeping()
        total = clock() - start
    spent["other"] = total - sum(spent.values())
    return {phase: spent[phase] / total for phase in PHASES}


# ---------------------------------------------------------------------------------------------------------
# One run, and the table
# ---------------------------------------------------------------------------------------------------------


def record(workload, contender, seed, *, solved_at, seconds, env_steps, evals, eval_seconds, shares) -> dict:
    """One run as a plain dict (what the JSON holds): the same fields for rlteach's runs and the peers'."""
    steps, secs = solved_at if solved_at else (None, None)
    return {"workload": workload, "contender": contender, "seed": seed, "solved": solved_at is not None,
            "steps_to_solve": steps, "seconds_to_solve": secs, "env_steps": env_steps, "seconds": seconds,
            "steps_per_second": env_steps / seconds if seconds > 0 else 0.0, "eval_seconds": eval_seconds,
            "evals": [list(e) for e in evals], "time_shares": shares}


def time_limit(max_seconds):
    """A ``train`` callback that ends the run at the first evaluation after ``max_seconds`` (as Ctrl-C would:
    ``train`` returns the result so far)."""
    def callback(snapshot):
        if snapshot.seconds > max_seconds:
            raise KeyboardInterrupt
    return callback


def run_one(workload: str, contender: str, seed: int, max_seconds=MAX_SECONDS, max_steps=MAX_STEPS) -> dict:
    """Train ``contender`` on ``workload`` until solved, ``max_seconds`` or ``max_steps``; return ``record``."""
    module, config = contender_config(contender, workload, seed, max_steps)
    with Profiler() as profiler:
        result = module.train(config, progress=False, callback=time_limit(max_seconds))
    solved = (result.solved_at_steps, result.solved_at_seconds) if result.solved else None
    if solved and solved[1] > max_seconds:
        solved = None
    return record(workload, contender, seed, solved_at=solved, seconds=result.seconds, env_steps=result.env_steps,
                  evals=result.evals, eval_seconds=result.eval_seconds, shares=profiler.shares())


def median_solved(values):
    """The median with an unsolved run (None) counted as slower than every solved one; None if that is one."""
    if not values:
        return None
    median = statistics.median([float("inf") if v is None else v for v in values])
    return None if median == float("inf") else median


def summarize(records) -> dict:
    """{(workload, contender): medians over seeds}: solved (count), runs, seconds and steps to solve, env
    steps/s, and the median share of each phase."""
    groups = {}
    for r in records:
        groups.setdefault((r["workload"], r["contender"]), []).append(r)
    rows = {}
    for key, rs in groups.items():
        rows[key] = {"solved": sum(r["solved"] for r in rs), "runs": len(rs),
                     "seconds_to_solve": median_solved([r["seconds_to_solve"] for r in rs]),
                     "steps_to_solve": median_solved([r["steps_to_solve"] for r in rs]),
                     "steps_per_second": statistics.median(r["steps_per_second"] for r in rs),
                     "time_shares": {p: statistics.median(r["time_shares"][p] for r in rs) for p in PHASES}}
    return rows


def ratio(rows, workload, a, b, key="seconds_to_solve"):
    """rows[a][key] / rows[b][key] on ``workload``; None where either is missing or unsolved."""
    x, y = rows.get((workload, a), {}).get(key), rows.get((workload, b), {}).get(key)
    return x / y if x is not None and y else None


def best(rows, workload, contenders, key="seconds_to_solve", lowest=True):
    """The contender of ``contenders`` with the best median ``key`` on ``workload`` (None if none has one)."""
    have = [(rows[(workload, c)][key], c) for c in contenders if rows.get((workload, c), {}).get(key) is not None]
    return (min(have) if lowest else max(have))[1] if have else None


def decision_guide(rows) -> list[str]:
    """The article's FAQ 9.1 answered from the table: one sentence per workload, computed, never typed in."""
    sentences = []
    for workload in [w for w in WORKLOADS if any(key[0] == w for key in rows)]:
        ours = [c for (w, c) in rows if w == workload]
        fastest = best(rows, workload, ours)
        quickest = best(rows, workload, ours, "steps_per_second", lowest=False)
        if fastest is None:
            sentences.append(tr("{workload}: no design solved it within the limits.", workload=workload))
            continue
        r = rows[(workload, fastest)]
        # every number in the sentence is a median over seeds, and says so
        numbers = {"workload": workload, "fastest": fastest, "seconds": r["seconds_to_solve"],
                   "steps": r["steps_to_solve"], "quickest": quickest,
                   "rate": rows[(workload, quickest)]["steps_per_second"]}
        sync = ratio(rows, workload, fastest, "a2c:sync")
        if sync is not None and fastest != "a2c:sync":
            sentences.append(tr("{workload}: fastest to solve was {fastest} (medians over its seeds: {seconds:.1f} s, "
                                "{sync:.2f}x the median time of one process stepping its envs in turn, a2c:sync; "
                                "{steps:,.0f} env steps). The highest median env steps per second came from "
                                "{quickest} ({rate:,.0f}/s).", sync=sync, **numbers))
        else:
            sentences.append(tr("{workload}: fastest to solve was {fastest} (medians over its seeds: {seconds:.1f} s; "
                                "{steps:,.0f} env steps). The highest median env steps per second came from "
                                "{quickest} ({rate:,.0f}/s).", **numbers))
    return sentences
