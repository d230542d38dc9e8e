"""A3C with a parameter server on Ray, synchronous against asynchronous updates.

``sync_vs_async`` trains ``rlteach.a3c`` with ``backend="ray"`` twice on the same budget, with the server
applying each gradient as it arrives and then waiting for one from every worker, and reports the throughput,
the updates, the staleness of the gradients and how long a worker's pull-to-push cycle took.
"""

from __future__ import annotations

import numpy as np

from rlteach.timeline import steady_steps_per_second


def sync_vs_async(total_steps=20_000, num_workers=2, seed=0):
    """A3C with its weights in a parameter server on Ray (``rlteach.a3c.ParameterServer``), asynchronous
    (``sync=False``: the server applies each worker's gradient as it arrives) against synchronous (``sync=True``:
    it waits for one gradient from every worker and applies their mean once; workers wait for that).
    ``total_steps`` env steps each, no evaluation, no early stop.

    One row per mode: env steps/s once every worker runs (``timeline.steady_steps_per_second``), server updates,
    env steps per update, mean and largest staleness (updates others applied between a worker's pull and
    its push), and the seconds workers spent between pulling weights and pushing a gradient (median)."""
    from rlteach import a3c

    rows = []
    for flag in (False, True):
        config = a3c.Config(backend="ray", sync=flag, num_workers=num_workers, total_steps=total_steps,
                            stop_when_solved=False, eval_every=None, seed=seed)
        result = a3c.train(config, progress=False)
        r = result.records
        cycle = [row.end - row.start for row in r["timeline"]]    # from the copy to the apply, per update
        rows.append({"mode": "sync" if flag else "async", "env_steps": result.env_steps,
                     "seconds": result.seconds, "steps_per_s": steady_steps_per_second(r["timeline"]),
                     "updates": r["updates"], "steps_per_update": result.env_steps / max(r["updates"], 1),
                     "staleness_mean": float(np.mean(r["staleness"])), "staleness_max": int(max(r["staleness"])),
                     "cycle_median_s": float(np.median(cycle))})
    return rows
