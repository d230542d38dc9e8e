"""IMPALA's actor throughput against a no-learning baseline, per backend, in one run.

    .venv/bin/python benchmarks/impala_speed.py --env-steps 60000

The baseline (``impala.no_learning_steps_per_second``) steps the same number of envs (num_actors x
envs_per_actor) in the same vector env class with actions from the same network's batched forward, and
nothing else. IMPALA's rate is its actors' steady env steps/s while the learner learns
(``timeline.steady_steps_per_second``: from the moment every actor delivered its first unroll). Also
reported: the learner's env steps/s while updating and the mean policy lag. Writes
benchmarks/results/impala_speed.md and .json. It measures; it never asserts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from report import markdown_table, write_report

from rlteach import impala
from rlteach.timeline import steady_steps_per_second
from rlteach.workers import BACKENDS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--env-steps", type=int, default=60_000, help="env steps per IMPALA run")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    rows = {}
    for backend in args.backends:
        config = impala.Config(backend=backend, total_steps=args.env_steps, stop_when_solved=False,
                               eval_every=None)
        baseline = impala.no_learning_steps_per_second(config, env_steps=args.env_steps // 3)
        result = impala.train(config, progress=False)
        rate = steady_steps_per_second(result.records["timeline"])
        rows[backend] = {"baseline": baseline, "actors": rate, "ratio": rate / baseline,
                         "learner": result.records["learner_steps_per_second"],
                         "mean_lag": float(np.mean(result.records["policy_lag"]))}
        print(f"{backend:<8} baseline {baseline:,.0f}, actors {rate:,.0f} env steps/s ({rate / baseline:.2f}x)",
              flush=True)
    c = impala.Config()
    header = ["backend", "no-learning baseline (steps/s)", "IMPALA actors (steps/s)", "actors / baseline",
              "learner (steps/s)", "mean policy lag"]
    cells = [[backend, f"{r['baseline']:,.0f}", f"{r['actors']:,.0f}", f"{r['ratio']:.2f}", f"{r['learner']:,.0f}",
              f"{r['mean_lag']:.2f}"] for backend, r in rows.items()]
    table = "\n".join([f"# IMPALA actor throughput ({c.num_actors} actors x {c.envs_per_actor} envs, "
                       f"{args.env_steps:,} env steps per run)", "", markdown_table(header, cells)])
    write_report(args.out, "impala_speed", table, rows)


if __name__ == "__main__":
    main()
