"""The fault matrix: A3C, Ape-X and IMPALA on each backend (thread, process, ray) under three faults.

    .venv/bin/python benchmarks/faults.py                     # the whole matrix, about 2 minutes on 2 cores
    .venv/bin/python benchmarks/faults.py --algorithms impala --backends thread

Each run trains with an evaluation every ``--eval-every`` env steps; at the first evaluation (mid-run, with
episodes already recorded) the callback injects one fault:

"error"      one worker's env raises (``FaultCartPole``: the first worker to step after a trigger file appears
             raises, the others never do). Measured: seconds until ``train`` raises ``WorkerError``, and
             whether the message carries the worker's traceback.
"interrupt"  a real ``KeyboardInterrupt`` in the main thread (``_thread.interrupt_main``, what Ctrl-C does).
             Measured: seconds until ``train`` returns the partial result.
"kill"       one worker's process is killed with SIGKILL (process backend) or ``ray.kill`` (ray backend; Ray
             restarts the actor). Threads have no process of their own to kill: "n/a" on the thread backend.
             Measured: seconds until ``train`` raises, or, on Ray, until the restarted worker runs again.

After each: the worker processes (and threads) the run left behind, counted after up to 10 s (Ray's own
daemons and idle workers do not count; rlteach's actors, hub and queue do), and "nothing lost": every episode
return recorded at the fault is still, in order, at the head of the result's ``episode_returns``. A run that
raises returns no result, so there the column says "n/a (raises)": what the caller holds is its last
callback snapshot. Writes benchmarks/results/faults.{json,md} and the table between ``<!-- faults:start -->``
and ``<!-- faults:end -->`` in README.md when that block exists. It measures; it never asserts.

This module is also the env's home: workers make ``faults:RlteachFaultCartPole-v0``, which imports it (so
this folder must be on their ``sys.path``: spawned processes inherit it, Ray workers get it via PYTHONPATH).
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

ENV_ID = "faults:RlteachFaultCartPole-v0"
FAULTS = ("error", "interrupt", "kill")
RAY_OURS = ("ray::_RayWorker", "ray::_RayHub", "ray::_QueueActor", "ray::ParameterServer")
README = Path(__file__).resolve().parent.parent / "README.md"


class FaultCartPole(CartPoleEnv):
    """CartPole whose env raises in exactly one worker, once the file ``trigger`` exists: the first worker env
    to step after that claims ``trigger + ".claimed"`` (an exclusive create, atomic across threads, processes
    and Ray actors) and raises. Envs of the driver (``driver``: its pid; evaluation runs there, on the main
    thread) never raise."""

    def __init__(self, trigger=None, driver=None, **kwargs):
        super().__init__(**kwargs)
        self.trigger, self.driver = trigger, driver

    def step(self, action):
        if self.trigger is not None and os.path.exists(self.trigger) and in_a_worker(self.driver):
            trigger, self.trigger = self.trigger, None
            try:
                os.close(os.open(trigger + ".claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                raise RuntimeError(f"FaultCartPole broke on purpose in process {os.getpid()}")
        return super().step(action)


def in_a_worker(driver) -> bool:
    return os.getpid() != driver or threading.current_thread().name.startswith("rlteach-worker")


if "RlteachFaultCartPole-v0" not in gym.registry:
    gym.register("RlteachFaultCartPole-v0", entry_point=FaultCartPole, max_episode_steps=500, reward_threshold=475.0)


# --- what a run leaves behind ----------------------------------------------------------------------------


def _cmdline(p) -> str:
    try:
        return "" if p.status() == psutil.STATUS_ZOMBIE else " ".join(p.cmdline())
    except psutil.Error:
        return ""


def worker_processes() -> list[psutil.Process]:
    """rlteach's worker processes below this one: spawned worker processes, and Ray processes running
    rlteach's actors (a worker, the hub, the queue, A3C's parameter server). Not the multiprocessing resource
    tracker, nor Ray's daemons or idle workers, which Ray keeps for the next run."""
    return [p for p in psutil.Process().children(recursive=True)
            if (cmd := _cmdline(p)) and ("spawn_main" in cmd or cmd.startswith(RAY_OURS))]


def ray_worker_pids() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True) if _cmdline(p).startswith("ray::_RayWorker.run")}


def left_behind(wait=10.0) -> int:
    """Worker processes plus rlteach worker threads still alive, after waiting up to ``wait`` s for them."""
    deadline = time.monotonic() + wait
    while True:
        n = len(worker_processes()) + sum(t.name.startswith("rlteach-worker") for t in threading.enumerate())
        if n == 0 or time.monotonic() > deadline:
            return n
        time.sleep(0.1)


# --- one cell of the matrix ------------------------------------------------------------------------------


def kill_one_worker(backend, snapshot) -> str:
    """SIGKILL one worker process (process backend), or ``ray.kill`` worker 0's actor (Ray restarts it)."""
    if backend == "ray":
        import ray

        ray.kill(ray.get_actor(snapshot.records["workers"]["names"][0]), no_restart=False)
        return "worker 0"
    victims = sorted((p for p in worker_processes() if "spawn_main" in _cmdline(p)), key=lambda p: p.pid)
    os.kill(victims[0].pid, signal.SIGKILL)
    return f"pid {victims[0].pid}"


def run_case(module, backend, fault, *, eval_every=1000, kill_run_steps=6000, trigger_dir="/tmp",
             guard=60.0) -> dict:
    """Train ``module`` on ``backend``, inject ``fault`` at the first evaluation, and report what happened.
    ``guard``: seconds after the fault at which a watchdog interrupts the run and the cell says "HUNG"."""
    name = module.__name__.rsplit(".", 1)[-1]
    row = {"algorithm": name, "backend": backend, "fault": fault}
    if fault == "kill" and backend == "thread":
        return {**row, "outcome": "n/a (threads share one process)", "seconds": None, "left": None,
                "nothing_lost": None, "episodes_at_fault": None}
    trigger = Path(trigger_dir) / f"rlteach-fault-{os.getpid()}-{name}-{backend}.trigger"
    for path in (trigger, Path(f"{trigger}.claimed")):
        path.unlink(missing_ok=True)
    settings = {"backend": backend, "seed": 0, "eval_every": eval_every, "stop_when_solved": False,
                "total_steps": kill_run_steps if (fault == "kill" and backend == "ray") else 10**7}
    if fault == "error":
        settings.update(env_id=ENV_ID, env_kwargs={"trigger": str(trigger), "driver": os.getpid()})
    at, seen_again, hung = {}, {}, threading.Event()

    def watch_restart(before):
        while "t" not in seen_again and time.monotonic() - at["t"] < guard:
            if ray_worker_pids() - before:
                seen_again["t"] = time.monotonic()
            time.sleep(0.02)

    def watchdog():
        while "done" not in at:
            if "t" in at and time.monotonic() - at["t"] > guard:
                hung.set()
                _thread.interrupt_main()
                return
            time.sleep(0.1)

    def inject(snapshot):
        if "t" in at:
            return
        at.update(returns=list(snapshot.episode_returns), steps=snapshot.env_steps, workers=len(worker_processes()))
        before = ray_worker_pids() if backend == "ray" else set()
        at["t"] = time.monotonic()
        if fault == "error":
            trigger.touch()
        elif fault == "interrupt":
            _thread.interrupt_main()                   # what Ctrl-C does: KeyboardInterrupt in the main thread
        else:
            at["victim"] = kill_one_worker(backend, snapshot)
            if backend == "ray":
                threading.Thread(target=watch_restart, args=(before,), daemon=True).start()

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
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
    seconds = None if "t" not in at else end - at["t"]
    if hung.is_set():
        outcome = f"HUNG: stopped by the {guard:.0f} s watchdog"
    elif error is not None:
        outcome = f"raises {type(error).__name__}"
        named = re.match(r"worker (\d+)", str(error))
        if named:
            outcome += f" naming worker {named.group(1)}"
        if fault == "error" and "broke on purpose" in str(error):
            outcome += ", with its traceback"
        if fault == "kill" and "SIGKILL" in str(error):
            outcome += " and SIGKILL"
    elif fault == "kill":
        restarts = result.records["workers"].get("restarts", 0)
        outcome = f"recovers: worker restarted ({restarts}x), run goes on to {result.env_steps} steps"
        seconds = seen_again["t"] - at["t"] if "t" in seen_again else None
    else:
        outcome = "returns the partial result" + ("" if result.interrupted else " (NOT marked interrupted)")
    lost = None
    if result is not None and "returns" in at:
        lost = result.episode_returns[:len(at["returns"])] != at["returns"]
    for path in (trigger, Path(f"{trigger}.claimed")):
        path.unlink(missing_ok=True)
    return {**row, "outcome": outcome, "seconds": seconds, "left": left_behind(),
            "nothing_lost": None if lost is None else not lost,
            "episodes_at_fault": len(at["returns"]) if "returns" in at else None,
            "processes_at_fault": at.get("workers"),   # shows that worker_processes() sees them while they run
            "error": None if error is None else str(error), "result": result}


# --- the table -------------------------------------------------------------------------------------------


def table_of(rows) -> str:
    from report import markdown_table

    def lost(row):
        if row["nothing_lost"] is None:
            return "n/a (raises)" if row["outcome"].startswith("raises") else "n/a"
        return f"yes ({row['episodes_at_fault']} episodes kept)" if row["nothing_lost"] else "NO"

    body = [[r["algorithm"], r["backend"], r["fault"], "" if r["seconds"] is None else f"{r['seconds']:.2f}",
             r["outcome"].replace("|", "/"), "" if r["left"] is None else str(r["left"]), lost(r)] for r in rows]
    return markdown_table(["algorithm", "backend", "fault", "seconds", "what happened", "processes left",
                           "nothing lost"], body)


def main(argv=None):
    import argparse

    from report import write_report

    from rlteach import a3c, apex, impala
    from rlteach.checks import ALL_BACKENDS

    modules = {"a3c": a3c, "apex": apex, "impala": impala}
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algorithms", nargs="+", default=list(modules), choices=list(modules))
    parser.add_argument("--backends", nargs="+", default=list(ALL_BACKENDS), choices=list(ALL_BACKENDS))
    parser.add_argument("--faults", nargs="+", default=list(FAULTS), choices=FAULTS)
    parser.add_argument("--eval-every", type=int, default=1000, help="env steps before the fault")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    if "ray" in args.backends:       # Ray workers import this module (the env) by name: give them its folder
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parent),
                                                                 os.environ.get("PYTHONPATH")]))
    rows = []
    for name in args.algorithms:
        for backend in args.backends:
            for fault in args.faults:
                row = run_case(modules[name], backend, fault, eval_every=args.eval_every)
                row.pop("result", None)
                print(f"{name:6} {backend:7} {fault:9} {row['seconds'] or 0:6.2f} s  left {row['left']}  "
                      f"{row['outcome'][:100]}", flush=True)
                rows.append(row)
    table = table_of(rows)
    write_report(args.out, "faults", table, rows)
    if README.exists() and "<!-- faults:start -->" in README.read_text():
        block = f"<!-- faults:start -->\n{table}\n<!-- faults:end -->"
        README.write_text(re.sub(r"<!-- faults:start -->.*<!-- faults:end -->", lambda m: block, README.read_text(),
                                 flags=re.S))


if __name__ == "__main__":
    main()
