"""When distribution pays: every rlteach design and its peers on three workloads, in ONE run (``make bench``).

    .venv/bin/pip install -c constraints.txt -r benchmarks/requirements.txt     # SB3, for the peers only
    .venv/bin/python benchmarks/side_by_side.py            # the full run: at most 60 minutes on 2 cores
    .venv/bin/python benchmarks/side_by_side.py --quick    # 1 seed, the main contenders (development)

Workloads (``rlteach.side_by_side.WORKLOADS``): CartPole-v1 (5 seeds), SlowCartPole sleeping 1 ms per step and
computing 1 ms per step (3 seeds each). Contenders: A2C in its three modes (8 envs); A3C and IMPALA on
threads and processes with 2 and 8 workers/actors (and 1 thread on the busy workload), Ape-X with 2 (its
scaling to 8 actors is ``make claims``'s); what the field runs today (notebook 08): PPO in one process (sync
and async envs), DD-PPO with 2 process workers, SEED RL's central inference with 8 thread and 2 process
actors; the peers a user would pick instead: SB3 A2C (8 envs, DummyVecEnv and SubprocVecEnv), SB3 PPO, SB3
DQN (rl-baselines3-zoo's CartPole-v1 settings). Ape-X runs on CartPole and sleep only, SB3 DQN on CartPole
only. Each run stops when solved (one criterion for everyone: 10 greedy episodes every 2000 env steps on the
env without its delay, mean >= 475), or at 120 s or 200,000 env steps, and then counts as unsolved. Torch
runs on one thread for everyone.

Writes benchmarks/results/side_by_side.json (every run, the machine's facts), side_by_side.md (the table and
the goals of issues 15 and 26 as ratios of medians), side_by_side.png (the plots), and a short summary into
README.md between its bench markers: the machine, the decision guide, how many goals were met, a link to side_by_side.md
(``readme_summary``; ``--rewrite`` writes it all again from the JSON). It measures; it never asserts.

The spawn start method re-imports this file in every subprocess (AsyncVectorEnv, SubprocVecEnv, process
workers), so its imports of torch and rlteach's algorithms are inside functions: each env subprocess then
starts in a fraction of a second instead of importing torch (measured: 8 envs 0.6 s instead of 4.8 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from pathlib import Path

import rlteach  # noqa: F401  (registers rlteach/SlowCartPole-v1: light, no torch)

OUT = Path(__file__).parent / "results"
README = Path(__file__).parent.parent / "README.md"
SEEDS = {"cartpole": 5, "sleep": 3, "busy": 3}
# Ape-X runs with 2 actors only: how it scales with more is `make claims`'s (benchmarks/claims.py, 2-8 actors).
LOCAL = [f"{a}:{b}x{n}" for a in ("a3c", "impala") for b in ("thread", "process") for n in (2, 8)]
LOCAL += ["apex:threadx2", "apex:processx2"]
TODAY = ["ppo:sync", "ppo:async", "ddppo:processx2", "seedrl:threadx8", "seedrl:processx2"]   # notebook 08
PEERS = ["sb3-a2c:dummy", "sb3-a2c:subproc", "sb3-ppo", "sb3-dqn"]


def contenders(workload: str, quick: bool) -> list[str]:
    """Who runs on ``workload``: the full matrix, or with --quick the main contenders."""
    if quick:
        names = ["a2c:sync", "a2c:async", "a3c:threadx8", "impala:threadx8", "impala:processx2", "a3c:processx2",
                 "sb3-a2c:dummy", "sb3-a2c:subproc"]
        names += ["a2c:vector"] if workload == "cartpole" else []
        names += ["a3c:threadx1", "a3c:threadx2", "impala:threadx1", "impala:threadx2"] if workload == "busy" else []
        return names + ["ppo:sync", "ddppo:processx2", "seedrl:threadx8", "sb3-ppo"]
    names = ["a2c:sync", "a2c:async"] + (["a2c:vector"] if workload == "cartpole" else [])
    names += [c for c in LOCAL if not (workload == "busy" and c.startswith("apex"))]
    names += ["a3c:threadx1", "impala:threadx1"] if workload == "busy" else []
    names += TODAY
    # SB3 DQN, Ape-X's peer, on CartPole only (it took 3.5 of the 53.6 minutes on the sleep workload, 2026-12-07)
    return names + [p for p in PEERS if not (workload != "cartpole" and p == "sb3-dqn")]


def run_sb3(workload: str, name: str, seed: int, max_seconds: float, max_steps: int) -> dict:
    """An SB3 peer, judged by rlteach's criterion inside an SB3 callback; time shares from the same profiler."""
    from stable_baselines3 import A2C, DQN, PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from rlteach.envs import evaluation_kwargs, reward_threshold
    from rlteach.monitor import evaluate
    from rlteach.side_by_side import EVAL_EPISODES, EVAL_EVERY, WORKLOADS, Profiler, record

    env_id, env_kwargs = WORKLOADS[workload]
    # "module:id": SB3's subprocesses import rlteach.envs, which registers the slow env, before gym.make
    sb3_id = env_id if env_id == "CartPole-v1" else f"rlteach.envs:{env_id}"
    start = time.perf_counter()
    threshold, eval_kwargs = reward_threshold(env_id), evaluation_kwargs(env_id, env_kwargs)

    class Solved(BaseCallback):
        def __init__(self):
            super().__init__()
            self.next_eval, self.solved_at, self.evals, self.eval_seconds = EVAL_EVERY, None, [], 0.0

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next_eval:
                return True
            while self.next_eval <= self.num_timesteps:
                self.next_eval += EVAL_EVERY
            t = time.perf_counter()
            mean = evaluate(lambda obs: self.model.predict(obs, deterministic=True)[0], env_id, EVAL_EPISODES,
                            env_kwargs=eval_kwargs)
            self.eval_seconds += time.perf_counter() - t
            self.evals.append((self.num_timesteps, time.perf_counter() - start, mean))
            if mean >= threshold:
                self.solved_at = (self.num_timesteps, time.perf_counter() - start)
                return False
            return time.perf_counter() - start < max_seconds

    def linear(initial):
        return lambda progress_remaining: progress_remaining * initial

    with Profiler() as profiler:
        vec_cls = SubprocVecEnv if name.endswith("subproc") else DummyVecEnv
        env = make_vec_env(sb3_id, n_envs=1 if name == "sb3-dqn" else 8, seed=seed, env_kwargs=env_kwargs,
                           vec_env_cls=vec_cls)
        if name == "sb3-dqn":
            model = DQN("MlpPolicy", env, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                        learning_starts=1000, gamma=0.99, target_update_interval=10, train_freq=256,
                        gradient_steps=128, exploration_fraction=0.16, exploration_final_eps=0.04,
                        policy_kwargs=dict(net_arch=[256, 256]), seed=seed, device="cpu")
        elif name.startswith("sb3-a2c"):
            model = A2C("MlpPolicy", env, ent_coef=0.0, seed=seed, device="cpu")
        else:
            model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                        ent_coef=0.0, learning_rate=linear(1e-3), clip_range=linear(0.2), seed=seed, device="cpu")
        callback = Solved()
        try:
            model.learn(total_timesteps=max_steps, callback=callback)
        finally:
            env.close()
    seconds = time.perf_counter() - start
    solved = callback.solved_at if callback.solved_at and callback.solved_at[1] <= max_seconds else None
    return record(workload, name, seed, solved_at=solved, seconds=seconds, env_steps=model.num_timesteps,
                  evals=callback.evals, eval_seconds=callback.eval_seconds, shares=profiler.shares())


def machine() -> dict:
    import gymnasium
    import numpy
    import torch
    try:
        import stable_baselines3
        sb3 = stable_baselines3.__version__
    except ImportError:
        sb3 = None
    return {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "gymnasium": gymnasium.__version__,
            "numpy": numpy.__version__, "stable_baselines3": sb3, "rlteach": rlteach.__version__,
            "date": time.strftime("%Y-%m-%d")}


def goals(rows) -> list[tuple[str, float | None, str, float]]:
    """Issues 15's and 26's goals as (what, measured ratio of medians, "<=" or ">=", target)."""
    from rlteach.side_by_side import best, ratio
    sleep_ours = [c for (w, c) in rows if w == "sleep" and not c.startswith("sb3")]
    agents8 = ["a3c:threadx8", "impala:threadx8"]
    best8 = best(rows, "sleep", agents8)           # the better of the two: the one that solves sooner
    best_ours = best(rows, "sleep", sleep_ours)
    out = [("sleep: a2c:async / a2c:sync, time to solve", ratio(rows, "sleep", "a2c:async", "a2c:sync"), "<=", 0.35),
           (f"sleep: {best8} / a2c:sync, env steps/s",
            ratio(rows, "sleep", best8, "a2c:sync", "steps_per_second") if best8 else None, ">=", 3.0),
           (f"sleep: {best8} / a2c:sync, time to solve", ratio(rows, "sleep", best8, "a2c:sync") if best8 else None,
            "<=", 0.5),
           (f"sleep: rlteach's best ({best_ours}) / sb3-a2c:subproc, time to solve",
            ratio(rows, "sleep", best_ours, "sb3-a2c:subproc") if best_ours else None, "<=", 1.0)]
    for algo in ("a3c", "impala"):
        out.append((f"busy: {algo}:processx2 / {algo}:threadx2, env steps/s",
                    ratio(rows, "busy", f"{algo}:processx2", f"{algo}:threadx2", "steps_per_second"), ">=", 1.6))
        out.append((f"busy: {algo}:threadx8 / {algo}:threadx1, env steps/s",
                    ratio(rows, "busy", f"{algo}:threadx8", f"{algo}:threadx1", "steps_per_second"), "<=", 1.15))
    out.append(("cartpole: a2c:vector / sb3-a2c:dummy, time to solve",
                ratio(rows, "cartpole", "a2c:vector", "sb3-a2c:dummy"), "<=", 0.5))
    # issue 26 (notebook 08): central inference, PPO against SB3's, DD-PPO's all-reduce on the busy workload
    out += [("sleep: seedrl:threadx8 / impala:threadx8, env steps/s",
             ratio(rows, "sleep", "seedrl:threadx8", "impala:threadx8", "steps_per_second"), ">=", 1.2),
            ("cartpole: ppo:sync / sb3-ppo, time to solve", ratio(rows, "cartpole", "ppo:sync", "sb3-ppo"), "<=", 1.0),
            ("busy: ddppo:processx2 / ppo:sync, env steps/s",
             ratio(rows, "busy", "ddppo:processx2", "ppo:sync", "steps_per_second"), ">=", 1.6),
            ("busy: ddppo:processx2 / ppo:sync, time to solve",
             ratio(rows, "busy", "ddppo:processx2", "ppo:sync"), "<=", 0.7)]
    return out


def readme_summary(rows, facts, verdicts) -> str:
    """The README's bench block, every number from the run: the machine, the decision guide, the goals met."""
    from rlteach.side_by_side import decision_guide
    link = "benchmarks/results/side_by_side.md"
    met = sum(v == "met" for v in verdicts)
    return "\n".join([f"The latest run ({facts.get('date')}, {facts.get('cores')} cores, torch {facts.get('torch')}, "
                      f"{facts.get('bench_minutes')} min in all):", "", *(f"- {s}" for s in decision_guide(rows)), "",
                      f"{met} of the {len(verdicts)} speed goals (ratios of medians) were met. Every contender, where "
                      f"its time went, the goals and the machine: [{link}]({link}); the plots: "
                      "[side_by_side.png](benchmarks/results/side_by_side.png)."])


def write(records, facts, quick):
    import matplotlib
    matplotlib.use("Agg")
    from report import markdown_table

    from rlteach.plotting.side_by_side import plot_side_by_side
    from rlteach.side_by_side import PHASES, decision_guide, summarize
    rows = summarize(records)
    header = ["workload", "contender", "solved", "median s to solve", "median env steps to solve", "env steps/s",
              *PHASES]
    def fmt(value, spec):
        return "-" if value is None else format(value, spec)

    cells = []
    for (workload, contender), r in rows.items():
        cells.append([workload, contender, f"{r['solved']}/{r['runs']}", fmt(r["seconds_to_solve"], ".1f"),
                      fmt(r["steps_to_solve"], ",.0f"), f"{r['steps_per_second']:,.0f}",
                      *(f"{100 * r['time_shares'][p]:.0f}%" for p in PHASES)])
    table = markdown_table(header, cells)
    def verdict(v, op, target):
        return "not measured" if v is None else "met" if (v <= target if op == "<=" else v >= target) else "missed"

    goal_lines = [f"- {what}: {fmt(v, '.2f')} (goal {op} {target}: {verdict(v, op, target)})"
                  for what, v, op, target in goals(rows)]
    facts_line = ", ".join(f"{k} {v}" for k, v in facts.items())
    text = "\n".join([f"# When distribution pays ({'--quick, ' if quick else ''}{facts['date']})", "",
                      f"Machine: {facts_line}.", "",
                      "Medians over seeds; an unsolved run counts as slower than every solved one. Time shares: "
                      "where this process's threads were, sampled every 10 ms (worker processes are not sampled: "
                      "their share is the learner's waiting).", "", table, "", "## Goals (ratios of medians)", "",
                      *goal_lines, "", "## The decision guide, from these numbers", "",
                      *(f"- {s}" for s in decision_guide(rows))])
    OUT.mkdir(parents=True, exist_ok=True)
    name = "side_by_side_quick" if quick else "side_by_side"
    (OUT / f"{name}.md").write_text(text + "\n")
    (OUT / f"{name}.json").write_text(json.dumps({"machine": facts, "runs": records}, indent=1))
    plot_side_by_side(records).savefig(OUT / f"{name}.png", dpi=90)
    if not quick and README.exists():
        summary = readme_summary(rows, facts, [verdict(*goal[1:]) for goal in goals(rows)])
        block = f"<!-- bench:start -->\n{summary}\n<!-- bench:end -->"
        README.write_text(re.sub(r"<!-- bench:start -->.*<!-- bench:end -->", lambda m: block, README.read_text(),
                                 flags=re.S))
    print("\n" + text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, the main contenders")
    parser.add_argument("--workloads", nargs="+", default=list(SEEDS), choices=list(SEEDS))
    parser.add_argument("--max-seconds", type=float, default=120.0, help="rlteach.side_by_side.MAX_SECONDS")
    parser.add_argument("--max-steps", type=int, default=200_000, help="rlteach.side_by_side.MAX_STEPS")
    parser.add_argument("--rewrite", action="store_true",
                        help="run nothing: write the table, plots and README again from results/side_by_side.json")
    args = parser.parse_args(argv)
    if args.rewrite:
        saved = json.loads((OUT / "side_by_side.json").read_text())
        write(saved["runs"], saved["machine"], quick=False)
        return
    import torch

    from rlteach.side_by_side import run_one
    torch.set_num_threads(1)
    facts = machine()
    records, start = [], time.perf_counter()
    for workload in args.workloads:
        for name in contenders(workload, args.quick):
            for seed in range(1 if args.quick else SEEDS[workload]):
                runner = run_sb3 if name.startswith("sb3") else run_one
                r = runner(workload, name, seed, args.max_seconds, args.max_steps)
                records.append(r)
                shown = f"{r['steps_to_solve']:,} steps / {r['seconds_to_solve']:.1f} s" if r["solved"] else "unsolved"
                print(f"[{(time.perf_counter() - start) / 60:5.1f} min] {workload:<8} {name:<16} seed {seed}: "
                      f"{shown}, {r['steps_per_second']:,.0f} env steps/s", flush=True)
    facts["bench_minutes"] = round((time.perf_counter() - start) / 60, 1)
    facts["limits"] = {"max_seconds": args.max_seconds, "max_steps": args.max_steps}
    write(records, facts, args.quick)


if __name__ == "__main__":
    main()
