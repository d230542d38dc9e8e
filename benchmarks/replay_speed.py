"""Prioritized replay throughput: rlteach's numpy sum-tree against cpprb's C++ one, in one run.

    .venv/bin/python -m pip install -r benchmarks/requirements.txt     # cpprb
    .venv/bin/python benchmarks/replay_speed.py --capacities 100000 1000000 --batches 256 512

Each setting fills a buffer to capacity with CartPole-sized transitions (obs float32 [4], action int,
reward, next_obs float32 [4], done), alpha = 0.6, then times iterations of what an Ape-X learner does:
sample a batch (the stored transitions and the importance weights, beta = 0.4), draw new random priorities,
update_priorities. Both libraries run the same loop, alternating in --repeats rounds; the median round
counts. Writes benchmarks/results/replay_speed.md and .json with iterations/s for each and the ratio
rlteach/cpprb. It measures; it never asserts.
"""

from __future__ import annotations

import argparse
import platform
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
from report import markdown_table, write_report

from rlteach.replay import PrioritizedReplay


def cartpole_data(n, rng):
    return {"obs": rng.normal(size=(n, 4)).astype(np.float32), "action": rng.integers(0, 2, n),
            "reward": np.ones(n, np.float32), "next_obs": rng.normal(size=(n, 4)).astype(np.float32),
            "done": (rng.random(n) < 0.05).astype(np.float32)}


def make_rlteach(capacity, alpha, data, priorities, seed):
    buffer = PrioritizedReplay(capacity, alpha=alpha, seed=seed)
    buffer.add_batch(data, priorities)

    def step(batch_size, beta, rng):
        batch, indices, weights = buffer.sample(batch_size, beta)
        buffer.update_priorities(indices, rng.random(batch_size) + 1e-6)
    return step


def make_cpprb(capacity, alpha, data, priorities):
    from cpprb import PrioritizedReplayBuffer

    env_dict = {"obs": {"shape": 4}, "act": {"dtype": np.int64}, "rew": {}, "next_obs": {"shape": 4}, "done": {}}
    buffer = PrioritizedReplayBuffer(capacity, env_dict, alpha=alpha)
    buffer.add(obs=data["obs"], act=data["action"], rew=data["reward"], next_obs=data["next_obs"],
               done=data["done"], priorities=priorities)

    def step(batch_size, beta, rng):
        sample = buffer.sample(batch_size, beta=beta)            # includes "weights" and "indexes"
        buffer.update_priorities(sample["indexes"], rng.random(batch_size) + 1e-6)
    return step


def iterations_per_second(step, batch_size, beta, iters, seed):
    rng = np.random.default_rng(seed)
    for _ in range(20):                                          # warm-up
        step(batch_size, beta, rng)
    start = time.perf_counter()
    for _ in range(iters):
        step(batch_size, beta, rng)
    return iters / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--capacities", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--batches", nargs="+", type=int, default=[256, 512])
    parser.add_argument("--iters", type=int, default=2000, help="iterations per timed round")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per library; the median counts")
    parser.add_argument("--alpha", type=float, default=0.6)
    parser.add_argument("--beta", type=float, default=0.4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    try:
        import cpprb  # noqa: F401
    except ImportError as error:
        raise SystemExit("cpprb is missing: .venv/bin/python -m pip install -r benchmarks/requirements.txt") from error

    results = []
    for capacity in args.capacities:
        rng = np.random.default_rng(args.seed)
        data, priorities = cartpole_data(capacity, rng), rng.uniform(1e-3, 1.0, capacity)
        steps = {"rlteach": make_rlteach(capacity, args.alpha, data, priorities, args.seed),
                 "cpprb": make_cpprb(capacity, args.alpha, data, priorities)}
        for batch_size in args.batches:
            rounds = {name: [] for name in steps}
            for r in range(args.repeats):                        # alternate, so drift in load hits both
                for name, step in steps.items():
                    rounds[name].append(iterations_per_second(step, batch_size, args.beta, args.iters, r))
            rate = {name: float(np.median(v)) for name, v in rounds.items()}
            results.append({"capacity": capacity, "batch_size": batch_size, "rlteach_it_s": rate["rlteach"],
                            "cpprb_it_s": rate["cpprb"], "ratio": rate["rlteach"] / rate["cpprb"]})
            print(f"capacity {capacity:>9,}  batch {batch_size:>4}: rlteach {rate['rlteach']:>8,.0f} it/s  "
                  f"cpprb {rate['cpprb']:>8,.0f} it/s  ratio {rate['rlteach'] / rate['cpprb']:.2f}x", flush=True)

    lines = [f"# Prioritized replay: sample + update_priorities iterations/s (alpha {args.alpha}, beta {args.beta},"
             f" {args.iters:,} iterations, median of {args.repeats} rounds, cpprb {version('cpprb')},"
             f" numpy {np.__version__}, {platform.processor() or platform.machine()})", "",
             markdown_table(["capacity", "batch", "rlteach it/s", "cpprb it/s", "rlteach / cpprb"],
                            [[f"{r['capacity']:,}", str(r["batch_size"]), f"{r['rlteach_it_s']:,.0f}",
                              f"{r['cpprb_it_s']:,.0f}", f"{r['ratio']:.2f}x"] for r in results])]
    table = "\n".join(lines)
    meta = {"alpha": args.alpha, "beta": args.beta, "iters": args.iters, "repeats": args.repeats,
            "cpprb": version("cpprb"), "numpy": np.__version__}
    write_report(args.out, "replay_speed", table, {"settings": meta, "results": results})


if __name__ == "__main__":
    main()
