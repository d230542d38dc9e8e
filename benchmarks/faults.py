"""The fault matrix: A3C, Ape-X and IMPALA on each backend (thread, process, ray) under three faults.

    .venv/bin/python benchmarks/faults.py                     # the whole matrix, about 2 minutes on 2 cores
    .venv/bin/python benchmarks/faults.py --algorithms impala --backends thread
    .venv/bin/python benchmarks/faults.py --from-json         # run nothing: rewrite faults.md and README

The faults and what is measured are ``rlteach.faults`` (notebook 06 runs IMPALA's rows). Writes
benchmarks/results/faults.json (every row), faults.md (a summary, what the columns mean, the full table) and
the summary alone, with a link to faults.md, between ``<!-- faults:start -->`` and ``<!-- faults:end -->`` in
README.md. Every sentence of the summary is chosen from the rows. It measures; it never asserts
(tests/test_faults.py does, without timing).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from report import write_report

from rlteach import a3c, apex, faults, impala
from rlteach.checks import ALL_BACKENDS

README = Path(__file__).resolve().parent.parent / "README.md"
RESULTS = Path(__file__).resolve().parent / "results"
MODULES = {"a3c": a3c, "apex": apex, "impala": impala}
COLUMNS = """Each case trains A3C, Ape-X or IMPALA on one backend and, at the first evaluation, injects one fault: an
exception in one worker (**error**), a real Ctrl-C in the main thread (**interrupt**), or one worker's process
killed (**kill**: SIGKILL on the process backend, `ray.kill` on Ray). `seconds` runs from the fault until `train`
raised, returned its partial result, or (Ray) ran the restarted worker again. `processes left` counts rlteach's
worker processes and threads still alive afterwards (Ray's own daemons, kept for the next run in the same Python
process, do not count). `nothing lost`: every episode recorded before the fault is still in the result, the one
`train` returned or the `error.partial` that a `WorkerError` carries. Notebook 06 measures IMPALA's rows on your
machine; `tests/test_faults.py` checks the same cases without timing."""


def summary(rows) -> str:
    """The matrix in three sentences, each chosen from the rows: what happened, how long it took, what was left."""
    cases = [r for r in rows if not r["outcome"].startswith("n/a")]
    groups = {"raises": "raised an error", "returns": "returned the partial result",
              "recovers": "recovered (the killed worker was restarted and the run went on)",
              "HUNG": "HUNG until the watchdog stopped them"}
    said = []
    for start, words in groups.items():
        group = [r for r in cases if r["outcome"].startswith(start)]
        if start == "raises" and group and all("naming worker" in r["outcome"] for r in group):
            words += " naming the failed worker"
        if group:
            said.append(f"{len(group)} {words}")
    why = sorted({r["outcome"][3:].strip(" ()") for r in rows if r["outcome"].startswith("n/a")})
    skipped = f" ({len(rows) - len(cases)} more do not apply: {'; '.join(why)})" if why else ""
    sentences = [f"Of {len(cases)} cases{skipped}, " + ", ".join(said[:-1]) + (" and " if len(said) > 1 else "")
                 + said[-1] + "."]
    stops = [r for r in cases if r["seconds"] is not None and not r["outcome"].startswith("recovers")]
    restarts = [r for r in cases if r["seconds"] is not None and r["outcome"].startswith("recovers")]
    timing = []
    if stops:
        slow = max(stops, key=lambda r: r["seconds"])
        timing.append(f"the slowest stop took {slow['seconds']:.2f} s ({slow['algorithm']}, {slow['backend']}, "
                      f"{slow['fault']})")
    if restarts:
        timing.append(f"the slowest restart {max(r['seconds'] for r in restarts):.2f} s")
    if timing:
        sentences.append("T" + ", ".join(timing)[1:] + ".")
    left = sum(r["left"] or 0 for r in cases)
    lost = sum(r["nothing_lost"] is False for r in cases)
    unchecked = sum(r["nothing_lost"] is None for r in cases)
    sentences.append(("No worker process or thread was left behind" if not left else
                      f"{left} worker processes or threads were left behind in all")
                     + (" and no recorded episode was lost" if not lost else f"; {lost} case(s) lost recorded episodes")
                     + (f" ({unchecked} case(s) unchecked)." if unchecked else "."))
    return " ".join(sentences)


def write(rows, out):
    """faults.md (summary, columns, the full table) and faults.json; the summary and a link into README.md."""
    said = summary(rows)
    write_report(out, "faults", f"# The fault matrix\n\n{said}\n\n{COLUMNS}\n\n{faults.fault_table(rows)}", rows)
    link = "benchmarks/results/faults.md"
    if Path(out).resolve() == RESULTS and "<!-- faults:start -->" in README.read_text():
        block = (f"<!-- faults:start -->\n{said} Every case, and what each column means: [{link}]({link}).\n"
                 "<!-- faults:end -->")
        README.write_text(re.sub(r"<!-- faults:start -->.*<!-- faults:end -->", lambda m: block, README.read_text(),
                                 flags=re.S))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algorithms", nargs="+", default=list(MODULES), choices=list(MODULES))
    parser.add_argument("--backends", nargs="+", default=list(ALL_BACKENDS), choices=list(ALL_BACKENDS))
    parser.add_argument("--faults", nargs="+", default=list(faults.FAULTS), choices=faults.FAULTS)
    parser.add_argument("--eval-every", type=int, default=1000, help="env steps before the fault")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--from-json", action="store_true",
                        help="run nothing: write faults.md and the README's summary again from OUT/faults.json")
    args = parser.parse_args(argv)
    if args.from_json:
        write(json.loads((Path(args.out) / "faults.json").read_text()), args.out)
        return
    rows = []
    for name in args.algorithms:
        for backend in args.backends:
            for fault in args.faults:
                row = faults.run_case(MODULES[name], backend, fault, eval_every=args.eval_every)
                row.pop("result")
                print(f"{name:6} {backend:7} {fault:9} {row['seconds'] or 0:6.2f} s  left {row['left']}  "
                      f"{row['outcome'][:100]}", flush=True)
                rows.append(row)
    write(rows, args.out)


if __name__ == "__main__":
    main()
