"""The communication lab (issue 8) from the command line: what moving weights and experience between processes costs.

The lab itself lives in the package, ``rlteach.lab`` (notebook 06 calls it with small budgets); this script
runs it with larger ones and writes a report.

    .venv/bin/python benchmarks/comm_lab.py              # the full run (a few minutes)
    .venv/bin/python benchmarks/comm_lab.py --quick      # the notebook-sized run
    .venv/bin/python benchmarks/comm_lab.py --skip-ray   # no Ray anywhere

Three experiments: ``transport_benchmark`` (a weight or trajectory payload to another process by mp queue,
shared memory or Ray's object store: round trip and streaming rate), ``knob_sweep`` (Ape-X with
``env_steps_per_weight_sync`` and ``transitions_per_message`` varied: throughput, lag, messages, bytes) and
``sync_vs_async`` (A3C with a parameter server on Ray). ``main`` runs them all, prints the tables and writes
benchmarks/results/comm_lab.md, .json and two PNGs (comm_lab_quick.* with --quick). It measures; it never
asserts.

The processes the transport benchmark spawns import this script again (the "spawn" start method imports the
parent's main module), so its top level stays light: rlteach.lab imports only the standard library and
numpy; ``main`` imports the plots (matplotlib, torch).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from report import write_report

from rlteach.lab import (
    TRANSPORTS,
    format_bytes,
    knob_sweep,
    knob_table,
    sync_table,
    sync_vs_async,
    transport_benchmark,
    transport_table,
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the notebook-sized run (about a minute)")
    parser.add_argument("--skip-ray", action="store_true", help="no Ray transport and no sync-vs-async run")
    parser.add_argument("--backend", default="process", choices=("thread", "process"),
                        help="Ape-X backend of the knob sweep")
    parser.add_argument("--env-steps", type=int, default=None,
                        help="env steps per knob setting (default 4,000 with --quick, 30,000 otherwise)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    from rlteach.plotting import plot_knobs, plot_transport  # matplotlib and torch: not in spawned children

    transports = tuple(t for t in TRANSPORTS if not (args.skip_ray and t == "ray"))
    t_start = time.perf_counter()
    data, sections = {}, []

    if args.quick:
        transport_rows = transport_benchmark(transports=transports)
    else:
        transport_rows = transport_benchmark(repeats=50, transports=transports, stream_seconds=0.3, max_messages=5000)
    data["transport"] = transport_rows
    sections += ["## Transports: one payload to another process and an acknowledgement back", "",
                 "Round trip: payload there, a tiny reply back (median and fastest). Streaming: many payloads in a "
                 "row until the last is acknowledged; shared memory has one buffer per payload, so it waits for "
                 "every reply. 'exact': the receiver's CRC32 of what it got equals the sender's.", "",
                 transport_table(transport_rows), ""]
    print(transport_table(transport_rows), flush=True)

    if args.quick:
        knob_rows = knob_sweep(total_steps=args.env_steps or 4000, backend=args.backend)
    else:
        knob_rows = knob_sweep(env_steps_per_weight_sync=(1, 10, 100, 1000), transitions_per_message=(1, 10, 50, 200),
                               total_steps=args.env_steps or 30_000, backend=args.backend)
    data["knobs"] = knob_rows
    sections += [f"## Ape-X knobs ({knob_rows[0]['env_steps']:,}+ env steps per setting, {args.backend} backend, "
                 "2 actors)", "",
                 f"Bytes: a message pickles to {knob_rows[0]['message_overhead_bytes']} B + "
                 f"{knob_rows[0]['transition_bytes']:.1f} B per transition; a weight copy is "
                 f"{format_bytes(knob_rows[0]['weights_pickled_bytes'])} (pickled state_dict).", "",
                 knob_table(knob_rows), ""]
    print(knob_table(knob_rows), flush=True)

    if not args.skip_ray:
        try:
            sync_rows = sync_vs_async(total_steps=5000 if args.quick else 20_000)
            data["sync_vs_async"] = sync_rows
            sections += ["## A3C on Ray: synchronous vs asynchronous updates", "", sync_table(sync_rows), ""]
        except Exception as exc:  # noqa: BLE001 - the other results still get reported
            message = f"sync_vs_async failed ({type(exc).__name__}: {exc}); its table is left out."
            print(message, flush=True)
            data["sync_vs_async"] = message
            sections += ["## A3C on Ray: synchronous vs asynchronous updates", "", message, ""]

    name = "comm_lab_quick" if args.quick else "comm_lab"
    seconds = time.perf_counter() - t_start
    data["seconds"] = seconds
    table = "\n".join([f"# Communication lab ({'--quick, ' if args.quick else ''}{seconds:.0f} s in all)", "",
                       *sections, f"Plots: {name}_transport.png, {name}_knobs.png"])
    write_report(args.out, name, table, data)
    out = Path(args.out)
    plot_transport(transport_rows).savefig(out / f"{name}_transport.png", dpi=110)
    plot_knobs(knob_rows).savefig(out / f"{name}_knobs.png", dpi=110)


if __name__ == "__main__":
    main()
