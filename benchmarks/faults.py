"""The fault matrix: A3C, Ape-X and IMPALA on each backend (thread, process, ray) under three faults.

    .venv/bin/python benchmarks/faults.py                     # the whole matrix, about 2 minutes on 2 cores
    .venv/bin/python benchmarks/faults.py --algorithms impala --backends thread

The faults and what is measured are ``rlteach.faults`` (notebook 06 runs IMPALA's rows). Writes
benchmarks/results/faults.{json,md} and the table between ``<!-- faults:start -->`` and ``<!-- faults:end -->``
in README.md. It measures; it never asserts (tests/test_faults.py does, without timing).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from report import write_report

from rlteach import a3c, apex, faults, impala
from rlteach.checks import ALL_BACKENDS

README = Path(__file__).resolve().parent.parent / "README.md"
MODULES = {"a3c": a3c, "apex": apex, "impala": impala}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algorithms", nargs="+", default=list(MODULES), choices=list(MODULES))
    parser.add_argument("--backends", nargs="+", default=list(ALL_BACKENDS), choices=list(ALL_BACKENDS))
    parser.add_argument("--faults", nargs="+", default=list(faults.FAULTS), choices=faults.FAULTS)
    parser.add_argument("--eval-every", type=int, default=1000, help="env steps before the fault")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    rows = []
    for name in args.algorithms:
        for backend in args.backends:
            for fault in args.faults:
                row = faults.run_case(MODULES[name], backend, fault, eval_every=args.eval_every)
                row.pop("result")
                print(f"{name:6} {backend:7} {fault:9} {row['seconds'] or 0:6.2f} s  left {row['left']}  "
                      f"{row['outcome'][:100]}", flush=True)
                rows.append(row)
    table = faults.fault_table(rows)
    write_report(args.out, "faults", table, rows)
    if "<!-- faults:start -->" in README.read_text():
        block = f"<!-- faults:start -->\n{table}\n<!-- faults:end -->"
        README.write_text(re.sub(r"<!-- faults:start -->.*<!-- faults:end -->", lambda m: block, README.read_text(),
                                 flags=re.S))


if __name__ == "__main__":
    main()
