"""A3C with a parameter server on Ray, synchronous against asynchronous updates.

``sync_vs_async`` trains ``rlteach.a3c`` with ``backend="ray"`` on the same budget, with the server applying
each gradient as it arrives and then waiting for one from every worker (``repeats`` times each, in turn), and
reports the throughput, the updates, the staleness of the gradients and how long a worker's pull-to-push cycle
took.
"""

from __future__ import annotations

import numpy as np

from rlteach.timeline import steady_steps_per_second


def sync_vs_async(total_steps=20_000, num_workers=2, seed=0, repeats=1):
    """A3C with its weights in a parameter server on Ray (``rlteach.a3c.ParameterServer``), asynchronous
    (``sync=False``: the server applies each worker's gradient as it arrives) against synchronous (``sync=True``:
    it waits for one gradient from every worker and applies their mean once; workers wait for that).
    ``total_steps`` env steps each, no evaluation, no early stop.

    ``repeats`` rounds, each one run of each mode (round r is seeded ``seed + r``), async and sync in turn, so
    that a slow change of the machine's load falls on both alike: one timing is one sample of a noisy
    quantity, and the repeats are what ``rlteach.verdict.compare`` needs to tell a gap from noise.

    One row per run: its ``mode`` and ``run`` (the round, from 0), env steps/s once every worker runs
    (``timeline.steady_steps_per_second``), server updates, env steps per update, mean and largest staleness
    (updates others applied between a worker's pull and its push), and the seconds workers spent between
    pulling weights and pushing a gradient (median)."""
    from rlteach import a3c
    from rlteach.checks import check_int

    check_int("repeats", repeats, 1)
    rows = []
    for run in range(repeats):
        for flag in (False, True):
            config = a3c.Config(backend="ray", sync=flag, num_workers=num_workers, total_steps=total_steps,
                                stop_when_solved=False, eval_every=None, seed=seed + run)
            result = a3c.train(config, progress=False)
            r = result.records
            cycle = [row.end - row.start for row in r["timeline"]]    # from the copy to the apply, per update
            rows.append({"mode": "sync" if flag else "async", "run": run, "env_steps": result.env_steps,
                         "seconds": result.seconds, "steps_per_s": steady_steps_per_second(r["timeline"]),
                         "updates": r["updates"], "steps_per_update": result.env_steps / max(r["updates"], 1),
                         "staleness_mean": float(np.mean(r["staleness"])), "staleness_max": int(max(r["staleness"])),
                         "cycle_median_s": float(np.median(cycle))})
    return rows
