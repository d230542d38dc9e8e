"""The fault matrix: what a run does when a worker fails, when you press Ctrl-C, or when a worker is killed.

Notebook 06 runs it for IMPALA; ``benchmarks/faults.py`` runs it for A3C, Ape-X and IMPALA on every backend and
writes the table into benchmarks/results/faults.md (a summary into the README). Each case trains with an
evaluation every ``eval_every`` env steps, and at the first evaluation (mid-run: episodes are already
recorded) the train callback injects one fault:

"error"      one worker's env raises. ``FaultCartPole`` (``ENV_ID``) raises in the first worker to step once
             a trigger file exists, and in no other. Measured: seconds until ``train`` raises ``WorkerError``,
             and whether its message carries the worker's traceback.
"interrupt"  a real ``KeyboardInterrupt`` in the main thread (``_thread.interrupt_main``: what Ctrl-C does).
             Measured: seconds until ``train`` returns the partial result.
"kill"       one worker's process dies: SIGKILL on the process backend, ``ray.kill`` on Ray (which restarts the
             actor). Threads share one process, so there is nothing of theirs alone to kill. Measured: seconds
             until ``train`` raises, or, on Ray, until the restarted worker runs again.

After each case: ``left``, the worker processes and threads still alive after up to 10 s (Ray's own daemons
and idle workers do not count: Ray keeps them for the next run; rlteach's actors, hub and queue do), and
``nothing_lost``: every episode return recorded at the fault is still, in order, at the head of the result's
``episode_returns`` (a run that raises carries its result so far as ``error.partial``). Nothing here asserts:
the notebook, the test and the benchmark each decide what they require.
"""

from __future__ import annotations

import _thread
import os
import re
import signal
import threading
import time
from pathlib import Path

import gymnasium as gym
import psutil
from gymnasium.envs.classic_control import CartPoleEnv

from rlteach.messages import N_, tr

FAULTS = ("error", "interrupt", "kill")
ENV_ID = "rlteach.faults:rlteach/FaultCartPole-v0"     # "module:id": gymnasium imports this module in each worker
RAY_OURS = ("ray::_RayWorker", "ray::_RayHub", "ray::_QueueActor", "ray::ParameterServer")


class FaultCartPole(CartPoleEnv):
    """CartPole that raises in exactly one worker once the file ``trigger`` exists: the first worker env to
    step after that claims ``trigger + ".claimed"`` (an exclusive create: atomic across threads, processes and
    Ray actors) and raises. The driver's envs (``driver``: its pid; evaluation runs there, in the main thread)
    never raise."""

    def __init__(self, trigger=None, driver=None, **kwargs):
        super().__init__(**kwargs)
        self.trigger, self.driver = trigger, driver

    def step(self, action):
        in_a_worker = os.getpid() != self.driver or threading.current_thread().name.startswith("rlteach-worker")
        if self.trigger is not None and in_a_worker and os.path.exists(self.trigger):
            trigger, self.trigger = self.trigger, None
            try:
                os.close(os.open(trigger + ".claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass                                       # another worker claimed it first
            else:
                raise RuntimeError(f"FaultCartPole broke on purpose in process {os.getpid()}")
        return super().step(action)


if ENV_ID.split(":")[1] not in gym.registry:
    gym.register(ENV_ID.split(":")[1], entry_point=f"{__name__}:FaultCartPole", max_episode_steps=500,
                 reward_threshold=475.0)


# --- what a run leaves behind ----------------------------------------------------------------------------


def _cmdline(process) -> str:
    try:
        return "" if process.status() == psutil.STATUS_ZOMBIE else " ".join(process.cmdline())
    except psutil.Error:                                   # it ended while we looked
        return ""


def worker_processes() -> list:
    """rlteach's worker processes below this one: spawned worker processes, and the Ray processes that run
    rlteach's actors (a worker, the hub, the queue, A3C's parameter server)."""
    return [p for p in psutil.Process().children(recursive=True)
            if (cmd := _cmdline(p)) and ("spawn_main" in cmd or cmd.startswith(RAY_OURS))]


def left_behind(wait=10.0) -> int:
    """Worker processes plus rlteach worker threads still alive, after waiting up to ``wait`` s for them."""
    deadline = time.monotonic() + wait
    while True:
        n = len(worker_processes()) + sum(t.name.startswith("rlteach-worker") for t in threading.enumerate())
        if n == 0 or time.monotonic() > deadline:
            return n
        time.sleep(0.1)


def _ray_worker_pids() -> set:
    return {p.pid for p in psutil.Process().children(recursive=True) if _cmdline(p).startswith("ray::_RayWorker.run")}


def kill_one_worker(backend, snapshot) -> None:
    """SIGKILL the oldest worker process (process backend), or ``ray.kill`` worker 0's actor (Ray restarts it)."""
    if backend == "ray":
        import ray

        ray.kill(ray.get_actor(snapshot.records["workers"]["names"][0]), no_restart=False)
        return
    oldest = min((p for p in worker_processes() if "spawn_main" in _cmdline(p)), key=lambda p: p.create_time())
    os.kill(oldest.pid, signal.SIGKILL)


# --- one case ----------------------------------------------------------------------------------------------


# Every outcome ``run_case`` records, as the message it is made from. The record is English (code, tests and the
# benchmark compare it); ``outcome_words`` shows it in the reader's language. A field stands for one word or
# number, without spaces.
OUTCOMES = {
    "raises": N_("raises {error}"),
    "raises, traceback": N_("raises {error}, with its traceback"),
    "raises, SIGKILL": N_("raises {error} and SIGKILL"),
    "raises naming": N_("raises {error} naming worker {worker}"),
    "raises naming, traceback": N_("raises {error} naming worker {worker}, with its traceback"),
    "raises naming, SIGKILL": N_("raises {error} naming worker {worker} and SIGKILL"),
    "recovers": N_("recovers: worker restarted ({restarts}x), run goes on to {steps} steps"),
    "partial": N_("returns the partial result"),
    "partial, not interrupted": N_("returns the partial result (NOT marked interrupted)"),
    "hung": N_("HUNG: stopped by the {guard} s watchdog"),
    "n/a": N_("n/a (threads share one process)"),
}


def outcome_of(fault, error, result) -> str:
    """What happened, in words chosen from what ``train`` raised or returned (one of ``OUTCOMES``)."""
    if error is not None:
        named = re.match(r"worker (\d+)", str(error))
        key = "raises naming" if named else "raises"
        if fault == "error" and "broke on purpose" in str(error):
            key += ", traceback"
        if fault == "kill" and "SIGKILL" in str(error):
            key += ", SIGKILL"
        return OUTCOMES[key].format(error=type(error).__name__, worker=named.group(1) if named else None)
    if fault == "kill":
        restarts = result.records["workers"].get("restarts", 0)
        return OUTCOMES["recovers"].format(restarts=restarts, steps=f"{result.env_steps:,}")
    return OUTCOMES["partial" if result.interrupted else "partial, not interrupted"]


def outcome_words(outcome: str) -> str:
    """A recorded ``outcome`` in the reader's language (unchanged when it is none of ``OUTCOMES``)."""
    for message in OUTCOMES.values():
        match = re.fullmatch(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>\\S+)", re.escape(message)), outcome)
        if match:
            return tr(message, **match.groupdict())
    return outcome


def run_case(module, backend, fault, *, eval_every=1000, kill_run_steps=6000, trigger_dir="/tmp", guard=60.0):
    """Train ``module`` (a3c, apex or impala) on ``backend``, inject ``fault`` at the first evaluation, and
    return a row: ``outcome`` (words), ``seconds`` (fault to raise, return or restart), ``left``,
    ``nothing_lost``, ``episodes_at_fault``, ``processes_at_fault``, ``error`` (its text) and ``result``.
    A run that goes on ``guard`` s after the fault is interrupted by a watchdog: its outcome says "HUNG"."""
    row = {"algorithm": module.__name__.rsplit(".", 1)[-1], "backend": backend, "fault": fault}
    if fault == "kill" and backend == "thread":
        return {**row, "outcome": OUTCOMES["n/a"], "seconds": None, "left": None,
                "nothing_lost": None, "episodes_at_fault": None, "processes_at_fault": None, "error": None,
                "result": None}
    trigger = Path(trigger_dir) / f"rlteach-fault-{os.getpid()}-{row['algorithm']}-{backend}.trigger"
    claimed = Path(f"{trigger}.claimed")
    for path in (trigger, claimed):
        path.unlink(missing_ok=True)
    settings = {"backend": backend, "seed": 0, "eval_every": eval_every, "stop_when_solved": False,
                "total_steps": kill_run_steps if (fault, backend) == ("kill", "ray") else 10**7}
    if fault == "error":
        settings.update(env_id=ENV_ID, env_kwargs={"trigger": str(trigger), "driver": os.getpid()})
    at, restarted, hung = {}, {}, threading.Event()

    def watch_restart(before):               # Ray: the moment a new worker process runs worker 0's loop again
        while "t" not in restarted and time.monotonic() - at["t"] < guard:
            if _ray_worker_pids() - before:
                restarted["t"] = time.monotonic()
            time.sleep(0.02)

    def watchdog():
        while "done" not in at:
            if "t" in at and time.monotonic() - at["t"] > guard:
                hung.set()
                _thread.interrupt_main()
                return
            time.sleep(0.1)

    def inject(snapshot):                    # the train callback: runs after every evaluation
        if "t" in at:                        # Ray: hold the run at the next evaluation until the killed worker runs
            while (fault, backend) == ("kill", "ray") and "t" not in restarted and not hung.is_set():
                time.sleep(0.02)             # again; a short run could otherwise end before its restart registers
            return
        at.update(returns=list(snapshot.episode_returns), processes=len(worker_processes()))
        before = _ray_worker_pids() if backend == "ray" else set()
        at["t"] = time.monotonic()
        if fault == "error":
            trigger.touch()
        elif fault == "interrupt":
            _thread.interrupt_main()
        else:
            kill_one_worker(backend, snapshot)
            if backend == "ray":
                threading.Thread(target=watch_restart, args=(before,), daemon=True).start()

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)   # Jupyter may have replaced it
    threading.Thread(target=watchdog, daemon=True).start()
    result = error = None
    try:
        result = module.train(module.Config(**settings), progress=False, callback=inject)
    except Exception as exc:  # noqa: BLE001 - the fault's error is what we measure
        error = exc
    finally:
        end = time.monotonic()
        at["done"] = True
        signal.signal(signal.SIGINT, previous)
    for path in (trigger, claimed):
        path.unlink(missing_ok=True)
    seconds = None if "t" not in at else end - at["t"]
    if fault == "kill" and error is None:
        seconds = restarted["t"] - at["t"] if "t" in restarted else None
    kept = result if result is not None else getattr(error, "partial", None)
    lost = None if kept is None or "returns" not in at else kept.episode_returns[:len(at["returns"])] != at["returns"]
    outcome = OUTCOMES["hung"].format(guard=f"{guard:.0f}") if hung.is_set() else outcome_of(fault, error, result)
    return {**row, "outcome": outcome, "seconds": seconds, "left": left_behind(),
            "nothing_lost": None if lost is None else not lost, "episodes_at_fault": len(at.get("returns", [])),
            "processes_at_fault": at.get("processes"), "error": None if error is None else str(error),
            "result": kept}


def fault_table(rows) -> str:
    """The matrix as a markdown table: one row per (algorithm, backend, fault)."""
    from rlteach.lab.tables import markdown_table  # here: workers import this module for its env only

    def kept(row):
        if row["nothing_lost"] is None:
            return tr("n/a")
        if row["nothing_lost"]:
            return tr("yes ({episodes} episodes kept)", episodes=row["episodes_at_fault"])
        return tr("NO")

    body = [[r["algorithm"], r["backend"], r["fault"], "" if r["seconds"] is None else f"{r['seconds']:.2f}",
             outcome_words(r["outcome"]).replace("|", "/"), "" if r["left"] is None else str(r["left"]), kept(r)]
            for r in rows]
    return markdown_table([tr("algorithm"), tr("backend"), tr("fault"), tr("seconds"), tr("what happened"),
                           tr("processes left"), tr("nothing lost")], body)
