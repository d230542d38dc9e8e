"""A3C's steady-state env steps/s (acting and learning) against the number of workers, per backend.

    .venv/bin/python benchmarks/a3c_speed.py --workers 1 2 4 --env-steps 30000

Counted from the moment the last worker applied its first update, so process spawn and start-up are
excluded (``rlteach.timeline.steady_steps_per_second``). Writes benchmarks/results/a3c_speed.md and .json with
each rate and its ratio to one worker on the same backend. It measures; it never asserts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from report import markdown_table, write_report

from rlteach.a3c import measure_speed
from rlteach.workers import BACKENDS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--env-steps", type=int, default=30_000)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    rates = {}
    for backend in args.backends:
        for n in args.workers:
            rates[f"{backend}:{n}"] = measure_speed(backend, n, args.env_steps)
            print(f"{backend:<8} {n} workers: {rates[f'{backend}:{n}']:,.0f} env steps/s", flush=True)
    cells = []
    for backend in args.backends:
        one = rates.get(f"{backend}:1")
        for n in args.workers:
            rate = rates[f"{backend}:{n}"]
            cells.append([backend, str(n), f"{rate:,.0f}", f"{rate / one:.2f}x" if one else "-"])
    table = "\n".join([f"# A3C steady-state env steps/s ({args.env_steps:,} env steps per setting)", "",
                       markdown_table(["backend", "workers", "env steps/s", "vs 1 worker"], cells)])
    write_report(args.out, "a3c_speed", table, rates)


if __name__ == "__main__":
    main()
