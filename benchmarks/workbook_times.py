"""How long the workbook takes: each notebook's reading time (an estimate) and run time (measured).

    .venv/bin/python benchmarks/workbook_times.py             # run every notebook (a copy), write the table
    .venv/bin/python benchmarks/workbook_times.py --inplace   # run them in place: re-executes the workbook
    .venv/bin/python benchmarks/workbook_times.py --no-run    # re-estimate reading, keep the measured run times
    .venv/bin/python benchmarks/workbook_times.py --inplace --only 08_what_the_field_runs_today   # run only these
    .venv/bin/python benchmarks/workbook_times.py --ci-seconds 816   # also record a fresh-clone `make test`

Run time: the wall-clock seconds `jupyter nbconvert --execute` takes on the notebook, top to bottom, one
notebook at a time (run it on a quiet machine: notebooks 03-07 measure threads against processes).

Reading time is an estimate for a student who reads everything and does every exercise:

    markdown     WORDS_PER_MINUTE words a minute (technical prose with formulas reads slower than a novel)
    code         CODE_LINES_PER_MINUTE lines a minute, for the source of every code cell
    figures      FIGURE_MINUTES for each image in the outputs
    exercises    EXERCISE_MINUTES for each exercise cell (one that starts from ``= ...``)

Writes benchmarks/results/workbook_times.{json,md} and the table between ``<!-- times:start -->`` and
``<!-- times:end -->`` in README.md. Like every script here it measures and reports; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"

WORDS_PER_MINUTE = 150
CODE_LINES_PER_MINUTE = 15
FIGURE_MINUTES = 0.5
EXERCISE_MINUTES = 5
EXERCISE = re.compile(r"^\s*\w+\s*=\s*\.\.\.", re.M)


def reading_minutes(nb: dict) -> dict:
    """The four parts of the reading estimate of one notebook, in minutes, and their sum."""
    words = code_lines = figures = exercises = 0
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            words += len(source.split())
        elif cell["cell_type"] == "code":
            code_lines += sum(1 for line in source.splitlines() if line.strip() and not line.startswith("#"))
            exercises += bool(EXERCISE.search(source))
            figures += sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))
    parts = {"markdown": words / WORDS_PER_MINUTE, "code": code_lines / CODE_LINES_PER_MINUTE,
             "figures": figures * FIGURE_MINUTES, "exercises": exercises * EXERCISE_MINUTES}
    return {**parts, "total": sum(parts.values()), "words": words, "code_lines": code_lines,
            "figure_count": figures, "exercise_count": exercises}


def run_seconds(path: Path, inplace: bool) -> float:
    """Execute the notebook top to bottom (in place, or a copy) and return the wall-clock seconds.

    Without saving the widgets' state (``store_widget_state=False``): where a notebook has it, nbconvert and
    nbviewer draw each explorer as a widget from that state (which needs JavaScript from a CDN, and has sliders
    that move nothing) instead of the PNG its output carries (rlteach.widget_parts). JupyterLab shows the live
    widget once the cell runs. nbconvert keeps the state an earlier run saved: it is dropped here first."""
    if inplace:
        nb = nbformat.read(path, as_version=4)
        if nb.metadata.pop("widgets", None) is not None:
            nbformat.write(nb, path)
    out = ["--inplace"] if inplace else ["--output-dir", tempfile.mkdtemp(), "--output", path.name]
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
               "--ExecutePreprocessor.timeout=900", "--ExecutePreprocessor.kernel_name=python3",
               "--ExecutePreprocessor.store_widget_state=False", *out, str(path)]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


def table(rows: list[dict], ci_seconds: float | None) -> str:
    lines = ["| notebook | reading (estimate) | run (measured) |", "|---|---|---|"]
    for r in rows:
        lines.append(f"| `{r['notebook']}` | {r['reading']['total']:.0f} min | {r['run_seconds']:.0f} s |")
    read = sum(r["reading"]["total"] for r in rows)
    run = sum(r["run_seconds"] for r in rows)
    lines.append(f"| **the whole workbook** | **{read / 60:.1f} h** | **{run / 60:.1f} min** |")
    if ci_seconds is not None:
        lines.append(f"| `make test` from a fresh clone (installs, a 2-node Ray cluster, every notebook) | | "
                     f"{ci_seconds / 60:.1f} min |")
    return "\n".join(lines)


def write_readme(text: str, measured: str):
    block = (f"<!-- times:start -->\n{text}\n\nReading: {WORDS_PER_MINUTE} words a minute of prose, "
             f"{CODE_LINES_PER_MINUTE} lines a minute of code, {FIGURE_MINUTES:g} min a figure, "
             f"{EXERCISE_MINUTES} min an exercise. Run: {measured}.\n<!-- times:end -->")
    readme = README.read_text()
    if "<!-- times:start -->" in readme:
        README.write_text(re.sub(r"<!-- times:start -->.*<!-- times:end -->", lambda m: block, readme, flags=re.S))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inplace", action="store_true", help="execute the notebooks in place (keep outputs)")
    parser.add_argument("--no-run", action="store_true", help="keep the run times of the last results")
    parser.add_argument("--ci-seconds", type=float, help="a fresh-clone `make test`, in seconds, to record")
    parser.add_argument("--only", nargs="+", metavar="NN_name", help="run only these notebooks; keep the others' "
                        "last run times")
    args = parser.parse_args(argv)
    names = {p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    if args.only and set(args.only) - names:
        parser.error(f"--only: no notebook named {sorted(set(args.only) - names)}; the notebooks: {sorted(names)}")
    previous = RESULTS / "workbook_times.json"
    old = json.loads(previous.read_text()) if previous.exists() else {}
    old_runs = {r["notebook"]: r["run_seconds"] for r in old.get("rows", [])}
    rows = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if args.no_run or (args.only and path.stem not in args.only):
            if path.stem not in old_runs:
                sys.exit(f"no run time recorded for {path.stem}; run it (without --no-run, or name it in --only)")
            seconds = old_runs[path.stem]
        else:
            print(f"running {path.name} ...", flush=True)
            seconds = run_seconds(path, args.inplace)
        nb = json.loads(path.read_text())
        rows.append({"notebook": path.stem, "run_seconds": round(seconds, 1), "reading": reading_minutes(nb)})
        print(f"{path.stem}: {seconds:.0f} s, reading {rows[-1]['reading']['total']:.0f} min", flush=True)
    ci = args.ci_seconds if args.ci_seconds is not None else old.get("ci_seconds")
    machine = old.get("machine") if args.no_run else {
        "cores": os.cpu_count(), "python": platform.python_version(), "date": str(date.today())}
    text = table(rows, ci)
    RESULTS.mkdir(parents=True, exist_ok=True)
    previous.write_text(json.dumps({"machine": machine, "ci_seconds": ci, "rows": rows}, indent=1) + "\n")
    (RESULTS / "workbook_times.md").write_text(text + "\n")
    print("\n" + text)
    write_readme(text, f"one notebook at a time, {machine['cores']} cores, python {machine['python']}, "
                       f"{machine['date']}")


if __name__ == "__main__":
    main()
