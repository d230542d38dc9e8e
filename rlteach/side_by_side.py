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

Where the time went: a ``Profiler`` thread looks at the Python stack of every thread of THIS process every
10 ms and files it under env stepping, acting, learning, waiting, evaluating or other (``classify``). The
threads of thread workers are in it; worker processes are not (their share shows up as the learner's
waiting). For an AsyncVectorEnv, "env stepping" is the wait for its subprocesses. The profiler needs the GIL
to look, and gets it when a thread lets go of it: at once in a torch op, else after Python's switch interval.
So that pure-Python work (an env step) is not under-counted, it lowers the switch interval from 5 ms to
0.2 ms while it runs (measured: A3C's thread workers step as fast either way).
"""

from __future__ import annotations

import importlib
import statistics
import sys
import threading
from collections import Counter

from rlteach.envs import DEFAULT_DELAY_MS, SLOW_CARTPOLE
from rlteach.monitor import ALGORITHMS

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
    if (algorithm == "a2c") != (how in A2C_MODES) or (algorithm != "a2c" and not n.isdigit()):
        raise ValueError(f"{name!r}: A2C runs as {', '.join(f'a2c:{m}' for m in A2C_MODES)}; the others as "
                         "'<algorithm>:<thread|process>x<N>', e.g. 'a3c:threadx8'")
    env_id, env_kwargs = WORKLOADS[workload]
    if delay_ms is not None and env_kwargs is not None:
        env_kwargs = {**env_kwargs, "delay_ms": delay_ms}
    module = importlib.import_module(ALGORITHMS[algorithm])
    fields = dict(env_id=env_id, env_kwargs=env_kwargs, seed=seed, total_steps=max_steps, eval_every=EVAL_EVERY,
                  eval_episodes=EVAL_EPISODES)
    if algorithm == "a2c":
        fields["vectorization"] = A2C_MODES[how]
    else:
        fields["backend"] = backend
        fields["num_workers" if algorithm == "a3c" else "num_actors"] = int(n)
    return module, module.Config(**fields)


# ---------------------------------------------------------------------------------------------------------
# Where the time went: a sampling profiler of this process's threads
# ---------------------------------------------------------------------------------------------------------

ENV_FILES = ("gymnasium/envs/", "gymnasium/wrappers/", "gymnasium/vector/", "gymnasium/core.py", "rlteach/envs.py",
             "stable_baselines3/common/vec_env/")
WAIT_FUNCS = {"wait", "acquire", "get", "sleep", "recv", "_recv", "_recv_bytes", "poll", "select", "join",
              "_wait_for_tstate_lock", "drain", "get_nowait"}
LEARN_FUNCS = {"rollout_gradients", "clip_by_global_norm", "apply", "learner_step", "n_step_td", "learner_loss",
               "learner_inputs", "vtrace", "backward", "clip_grad_norm_", "train_step", "push"}
ACT_FUNCS = {"collect_rollout", "collect_rollouts", "sample", "sample_actions", "dist", "predict", "act",
             "_sample_action", "post", "send", "copy_to", "pull"}
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
        if fn in LEARN_FUNCS or "torch/optim/" in f or "torch/autograd/" in f or f.endswith("shared_optim.py"):
            return "learning"
        if fn in ACT_FUNCS:
            return "acting"
        if fn == "train" and (f.endswith("rlteach/policy_gradient.py") or any(s in f for s in SB3_LEARNERS)):
            return "learning"               # A2C learns inline in train(); SB3's train() is its learner
    return "other"


class Profiler:
    """``with Profiler() as p: ...``; then ``p.shares()``: the fraction of sampled thread time per phase."""

    def __init__(self, interval=0.01):
        self.interval, self.counts, self._stop = interval, Counter(), threading.Event()

    def _sample(self):
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                frames = []
                while frame is not None:
                    frames.append((frame.f_code.co_filename, frame.f_code.co_name))
                    frame = frame.f_back
                phase = classify(frames)
                if phase is not None:
                    self.counts[phase] += 1

    def __enter__(self):
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(0.0002)
        self._thread = threading.Thread(target=self._sample, name="rlteach-profiler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        sys.setswitchinterval(self._switch)

    def shares(self) -> dict:
        total = sum(self.counts.values())
        return {phase: (self.counts[phase] / total if total else 0.0) for phase in PHASES}


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
            sentences.append(f"{workload}: no design solved it within the limits.")
            continue
        r = rows[(workload, fastest)]
        text = f"{workload}: fastest to solve was {fastest} (median {r['seconds_to_solve']:.1f} s"
        sync = ratio(rows, workload, fastest, "a2c:sync")
        if sync is not None and fastest != "a2c:sync":
            text += f", {sync:.2f}x the time of one process stepping its envs in turn, a2c:sync"
        text += (f"; {r['steps_to_solve']:,.0f} env steps). The most env steps per second came from {quickest} "
                 f"({rows[(workload, quickest)]['steps_per_second']:,.0f}/s).")
        sentences.append(text)
    return sentences
