"""Time to solve CartPole-v1: rlteach's algorithms against Stable-Baselines3 peers, in one run.

    .venv/bin/pip install -c constraints.txt -r benchmarks/requirements.txt     # SB3, for the peers only
    .venv/bin/python benchmarks/time_to_solve.py a2c a3c:thread a3c:process --seeds 0 1 2 3 4
    .venv/bin/python benchmarks/time_to_solve.py apex:thread apex:process --peers sb3-dqn

An algorithm may name a backend after a colon (``a3c:process``): it sets that Config's ``backend``.

Every run, ours and the peers', is judged by ONE criterion, rlteach.monitor's: every 2000 env steps, 10
greedy episodes on envs seeded 10_000 + i; solved when their mean reaches 475. The clock starts before
anything is built (envs, model) and includes every evaluation. Peers use the rl-baselines3-zoo
hyperparameters for CartPole-v1 (A2C: 8 envs, defaults otherwise; PPO: 8 envs, n_steps 32, batch 256,
lambda 0.8, gamma 0.98, 20 epochs, linear lr 1e-3 and clip 0.2 over 1e5 steps; DQN: 1 env, lr 2.3e-3,
batch 64, buffer 1e5, 1000 learning starts, target update every 10, 128 gradient steps every 256 env steps,
epsilon to 0.04 over the first 16%, net 256x256), and the zoo's own step budgets (DQN: 5e4). Torch runs
on one thread for everyone (as the zoo does on CPU), unless --threads says otherwise.

Writes a table (steps and seconds to solve per seed, medians, the ratio of medians to each SB3 peer) to
benchmarks/results/time_to_solve.md and .json. It measures; it never asserts.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from pathlib import Path

import torch
from report import markdown_table, write_report

from rlteach.envs import reward_threshold
from rlteach.monitor import ALGORITHMS, evaluate

ENV_ID = "CartPole-v1"
PEERS = ["sb3-a2c", "sb3-ppo", "sb3-dqn"]
EVAL_EVERY, EVAL_EPISODES = 2000, 10


def run_rlteach(name: str, seed: int) -> dict:
    algorithm, _, backend = name.partition(":")
    module = importlib.import_module(ALGORITHMS[algorithm])
    extra = {"backend": backend} if backend else {}
    result = module.train(module.Config(env_id=ENV_ID, seed=seed, eval_every=EVAL_EVERY,
                                        eval_episodes=EVAL_EPISODES, **extra), progress=False)
    return {"steps": result.solved_at_steps, "seconds": result.solved_at_seconds, "env_steps": result.env_steps,
            "total_seconds": result.seconds}


def run_sb3(name: str, seed: int) -> dict:
    from stable_baselines3 import A2C, DQN, PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    start = time.perf_counter()
    threshold = reward_threshold(ENV_ID)

    class SolvedCallback(BaseCallback):
        """rlteach's criterion inside SB3: evaluate every EVAL_EVERY env steps; stop when solved."""

        def __init__(self):
            super().__init__()
            self.next_eval, self.solved_at = EVAL_EVERY, None

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next_eval:
                return True
            while self.next_eval <= self.num_timesteps:
                self.next_eval += EVAL_EVERY
            mean = evaluate(lambda obs: self.model.predict(obs, deterministic=True)[0], ENV_ID, EVAL_EPISODES)
            if mean >= threshold:
                self.solved_at = (self.num_timesteps, time.perf_counter() - start)
                return False
            return True

    def linear(initial):
        return lambda progress_remaining: progress_remaining * initial

    env = make_vec_env(ENV_ID, n_envs=1 if name == "sb3-dqn" else 8, seed=seed)
    if name == "sb3-dqn":
        model = DQN("MlpPolicy", env, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
                    gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128,
                    exploration_fraction=0.16, exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]),
                    seed=seed, device="cpu")
        budget = 50_000
    elif name == "sb3-a2c":
        model, budget = A2C("MlpPolicy", env, ent_coef=0.0, seed=seed, device="cpu"), 500_000
    else:
        model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                    ent_coef=0.0, learning_rate=linear(1e-3), clip_range=linear(0.2), seed=seed, device="cpu")
        budget = 100_000
    callback = SolvedCallback()
    model.learn(total_timesteps=budget, callback=callback)
    steps, seconds = callback.solved_at if callback.solved_at else (None, None)
    return {"steps": steps, "seconds": seconds, "env_steps": model.num_timesteps,
            "total_seconds": time.perf_counter() - start}


def median_or_none(values):
    """The median with unsolved runs (None) counted as slower than every solved one; None if that is unsolved."""
    median = statistics.median([float("inf") if v is None else v for v in values]) if values else None
    return None if median is None or median == float("inf") else median


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("algorithms", nargs="+", help=f"rlteach algorithms to time: {sorted(ALGORITHMS)}, "
                        "optionally with a backend, e.g. a3c:process")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--peers", nargs="*", default=["sb3-a2c", "sb3-ppo"], choices=PEERS)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for every run (default 1)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    for name in args.algorithms:
        if name.partition(":")[0] not in ALGORITHMS:
            parser.error(f"unknown algorithm {name!r}; choose from {sorted(ALGORITHMS)}")
    torch.set_num_threads(args.threads)

    rows = {}
    for name in list(args.algorithms) + list(args.peers):
        runner = run_sb3 if name.startswith("sb3-") else run_rlteach
        rows[name] = []
        for seed in args.seeds:
            r = runner(name, seed)
            rows[name].append({"seed": seed, **r})
            shown = f"{r['steps']:,} steps / {r['seconds']:.1f} s" if r["steps"] else "not solved"
            print(f"{name:<8} seed {seed}: {shown}", flush=True)

    peers = [p for p in PEERS if p in rows]
    references = {p: median_or_none([r["seconds"] for r in rows[p]]) for p in peers}
    lines = [f"# Time to solve {ENV_ID} (seeds {args.seeds}, torch threads {args.threads})", "",
             "Medians count an unsolved run as slower than every solved one.", ""]
    header = ["algorithm", "solved", "median steps", "median seconds", *(f"seconds / {p}" for p in peers),
              "per seed (steps / s)"]
    cells = []
    for name, rs in rows.items():
        med_steps = median_or_none([r["steps"] for r in rs])
        med_s = median_or_none([r["seconds"] for r in rs])
        ratios = [f"{med_s / references[p]:.2f}" if med_s and references[p] else "-" for p in peers]
        per_seed = "; ".join(f"{r['steps']:,} / {r['seconds']:.1f}" if r["steps"] else "not solved" for r in rs)
        cells.append([name, f"{sum(r['steps'] is not None for r in rs)}/{len(rs)}",
                      f"{med_steps if med_steps is None else f'{med_steps:,.0f}'}",
                      f"{med_s if med_s is None else f'{med_s:.1f}'}", *ratios, per_seed])
    table = "\n".join([*lines, markdown_table(header, cells)])
    write_report(args.out, "time_to_solve", table, rows)


if __name__ == "__main__":
    main()
