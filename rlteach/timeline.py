"""The timeline an asynchronous run records: who worked, from when to when, and what it delivered.

``result.records["timeline"]`` (A3C and IMPALA) is a list of rows, one per piece of work, in the order the
learner received them. Every row starts with the same four named fields; times are seconds since ``train()``
started:

    who        the worker's index, 0 .. N-1, or LEARNER (-1) for a learner update
    start      when the piece of work began (A3C: the copy of the shared weights; IMPALA: the unroll's
               first step, or the learner update's start)
    end        when it ended (A3C: the gradient applied; IMPALA: the unroll put on the queue, or the update
               done)
    env_steps  the env steps it delivered (0 for a learner update)

    Span(who, start, end, env_steps)                          IMPALA: an unroll, or a learner update
    A3CUpdate(who, start, end, env_steps,                     A3C: one copy-roll out-compute-apply cycle
              t_rolled_out, t_computed, staleness)            (its inner phases and its staleness)

Rows are named tuples: ``row.end``, ``row.who``. Saved to JSON they become lists; ``as_rows`` turns them back.
``steady_steps_per_second`` and ``overlap_seconds`` read any list of such rows; ``round_waits`` reads the
rows of a SYNCHRONOUS run (A3C with ``sync=True``), where every cycle waits for the round before it.
"""

from __future__ import annotations

from typing import NamedTuple

LEARNER = -1        # ``who`` of a learner update


class Span(NamedTuple):
    """One piece of work: an IMPALA unroll (``who`` = actor index) or a learner update (``who`` = LEARNER)."""

    who: int
    start: float
    end: float
    env_steps: int


class A3CUpdate(NamedTuple):
    """One A3C cycle: copy at ``start``, rollout until ``t_rolled_out``, gradient at ``t_computed``, applied at
    ``end``; ``staleness`` = updates others applied in between; ``env_steps`` = the rollout's length."""

    who: int
    start: float
    end: float
    env_steps: int
    t_rolled_out: float
    t_computed: float
    staleness: int


def as_rows(rows) -> list:
    """Rows as named tuples again (after a JSON round trip they are lists): 4 fields a Span, 7 an A3CUpdate."""
    kinds = {len(Span._fields): Span, len(A3CUpdate._fields): A3CUpdate}
    return [kinds[len(row)](*row) for row in rows]


def worker_rows(rows) -> list:
    """The rows of workers (actors), without the learner's."""
    return [row for row in rows if row.who != LEARNER]


def steady_steps_per_second(rows) -> float:
    """The workers' env steps per second once EVERY worker has delivered its first piece of work: from that
    moment to the last delivery (so process spawn and start-up are left out); NaN if too few rows follow."""
    rows = sorted(worker_rows(rows), key=lambda row: row.end)
    if not rows:
        return float("nan")
    first = {}
    for row in rows:
        first.setdefault(row.who, row.end)
    start = max(first.values())
    after = [row for row in rows if row.end > start]
    if len(after) < 2:
        return float("nan")
    return sum(row.env_steps for row in after) / (after[-1].end - start)


def overlap_seconds(rows) -> float:
    """Total time during which at least two workers were inside a piece of work at once."""
    workers = worker_rows(rows)
    events = sorted([(row.start, 1) for row in workers] + [(row.end, -1) for row in workers])
    inside, last, total = 0, None, 0.0
    for t, delta in events:
        if inside >= 2 and last is not None:
            total += t - last
        inside, last = inside + delta, t
    return total


def round_waits(rows) -> list:
    """For a SYNCHRONOUS run, where each worker pushes one gradient per round and its next pull returns only
    once every worker has pushed (the round's mean is applied): the seconds each row's cycle spent waiting in
    that pull, one number per row of ``rows``, in their order (0.0 for a learner row).

    Worker w's k-th update (its rows in order of ``start``) belongs to round k. Round k is complete at
        ready_k = max over workers w' of end(w', k)        (the last push of the round)
    and worker w's cycle k+1 starts (``start``: its pull begins) when its own push of round k returned, so it
    waits  wait(w, k+1) = max(0, ready_k - start(w, k+1)).  A worker's first cycle waits for nothing, nor does
    a cycle whose previous round not every worker completed (the run stopped in the middle of it). The pull
    returns one message after ready_k, so this is the wait for the other workers, without the message."""
    by_worker = {}
    for i, row in sorted(enumerate(rows), key=lambda item: item[1].start):
        if row.who != LEARNER:
            by_worker.setdefault(row.who, []).append(i)
    rounds = min((len(mine) for mine in by_worker.values()), default=0)
    ready = [max(rows[mine[k]].end for mine in by_worker.values()) for k in range(rounds)]
    waits = [0.0] * len(rows)
    for mine in by_worker.values():
        for k, i in enumerate(mine[1:rounds + 1], start=1):
            waits[i] = max(0.0, ready[k - 1] - rows[i].start)
    return waits
