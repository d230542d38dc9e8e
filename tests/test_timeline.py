"""rlteach.timeline.round_waits against a simulated synchronous parameter server, and by hand."""

import numpy as np
import pytest

from rlteach.timeline import LEARNER, A3CUpdate, Span, round_waits


def simulate_sync(durations, message=0.0):
    """A literal synchronous server: worker w's cycle k starts when its push of round k-1 returned, its pull
    returns when every worker has pushed round k-1 (plus ``message``), then it works durations[w][k].
    Returns the rows (shuffled by start) and the true waits inside the pulls."""
    workers, rounds = len(durations), len(durations[0])
    end = np.zeros((workers, rounds))
    rows, true_wait = [], []
    start = np.zeros(workers)
    for k in range(rounds):
        ready = end[:, k - 1].max() if k else 0.0
        for w in range(workers):
            pulled = max(start[w], ready + message) if k else start[w]
            end[w, k] = pulled + durations[w][k]
            rows.append(A3CUpdate(w, start[w], end[w, k], 5, pulled + 0.5 * durations[w][k], end[w, k], 0))
            true_wait.append(max(0.0, ready - start[w]) if k else 0.0)
        start = end[:, k].copy()
    return rows, true_wait


@pytest.mark.parametrize("seed", range(5))
def test_round_waits_match_a_simulated_sync_server(seed):
    rng = np.random.default_rng(seed)
    rows, true_wait = simulate_sync(rng.uniform(0.001, 0.02, size=(3, 12)), message=0.0)
    order = rng.permutation(len(rows))                        # the learner receives them in any order
    got = round_waits([rows[i] for i in order])
    assert got == pytest.approx([true_wait[i] for i in order], abs=1e-12)


def test_round_waits_by_hand():
    # worker 0 is fast (1 s per cycle), worker 1 slow (3 s): worker 0 waits 2 s before each of its cycles
    rows, _ = simulate_sync([[1.0, 1.0, 1.0], [3.0, 3.0, 3.0]])
    assert round_waits(rows) == pytest.approx([0.0, 0.0, 2.0, 0.0, 2.0, 0.0])


def test_round_waits_skips_learner_rows_and_incomplete_rounds():
    rows = [A3CUpdate(0, 0.0, 1.0, 5, 0.5, 0.9, 0), A3CUpdate(1, 0.0, 2.0, 5, 1.5, 1.9, 0),
            A3CUpdate(0, 1.0, 3.0, 5, 2.5, 2.9, 0), Span(LEARNER, 0.5, 0.6, 0),
            A3CUpdate(0, 3.0, 4.0, 5, 3.5, 3.9, 0)]          # worker 1 never finished round 1
    assert round_waits(rows) == pytest.approx([0.0, 0.0, 1.0, 0.0, 0.0])
    assert round_waits([]) == []
