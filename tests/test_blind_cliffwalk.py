"""rlteach.blind_cliffwalk against brute force written here: the replay memory by playing every action sequence,
Q* by value iteration, and the uniform and oracle learning loops re-implemented naively, one step at a time."""

from collections import Counter

import numpy as np
import pytest

from rlteach import blind_cliffwalk as bc

# ---------------------------------------------------------------------------------------------------------
# Brute force: play every sequence, solve the chain by value iteration
# ---------------------------------------------------------------------------------------------------------


def play_all_sequences(n):
    """(s, a, r, s_next, done) of every step of every action sequence, in the module's order: sequence j's
    action at step t is bit t of j (1 = right), each played from state 0 until it ends."""
    transitions = []
    for j in range(2**n):
        s = 0
        for t in range(n):
            a = (j >> t) & 1
            if a == bc.WRONG:
                transitions.append((s, a, 0.0, min(s + 1, n - 1), 1.0))
                break
            last = s == n - 1
            transitions.append((s, a, 1.0 if last else 0.0, min(s + 1, n - 1), 1.0 if last else 0.0))
            if last:
                break
            s += 1
    return transitions


def as_tuples(mem):
    return list(zip(*(mem[k].tolist() for k in ("s", "a", "r", "s_next", "done")), strict=True))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 9])
def test_memory_is_every_sequence_played_to_its_end(n):
    mem = bc.memory(n)
    assert len(mem["s"]) == 2 ** (n + 1) - 2
    assert as_tuples(mem) == play_all_sequences(n)
    by_pair = Counter(zip(mem["s"].tolist(), mem["a"].tolist(), strict=True))
    for s in range(n):                                 # (s, a) is played by 2^(n-s-1) sequences
        assert by_pair[(s, bc.RIGHT)] == by_pair[(s, bc.WRONG)] == 2 ** (n - s - 1)
    assert mem["r"].sum() == 1.0                       # exactly one sequence reaches the reward


def test_memory_size_sums_to_two_to_the_n_plus_one_minus_two():
    for n in range(1, 12):                             # first "wrong" at step k: k + 1 transitions
        total = sum((k + 1) * 2 ** (n - k - 1) for k in range(n)) + n
        assert total == len(play_all_sequences(n)) == 2 ** (n + 1) - 2


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_q_star_by_value_iteration(n):
    gamma, Q = 1 - 1 / n, np.zeros((n, 2))
    for _ in range(10 * n):
        for s in range(n):
            Q[s, bc.WRONG] = 0.0
            Q[s, bc.RIGHT] = 1.0 if s == n - 1 else gamma * Q[s + 1].max()
    np.testing.assert_allclose(bc.q_star(n), Q, atol=1e-12)
    np.testing.assert_allclose(bc.q_star(n)[:, bc.RIGHT], gamma ** (n - 1 - np.arange(n)))


# ---------------------------------------------------------------------------------------------------------
# updates_to_learn against naive loops with the same random draws
# ---------------------------------------------------------------------------------------------------------


def naive_start(n, seed):
    """The module's documented draws: Q's start, then the memory's order."""
    rng = np.random.default_rng(seed)
    Q = rng.normal(0.0, 0.1, size=(n, 2))
    memory = play_all_sequences(n)
    memory = [memory[i] for i in rng.permutation(len(memory))]
    return rng, Q, memory


def naive_update(Q, transition, n):
    s, a, r, s_next, done = transition
    target = r if done else r + (1 - 1 / n) * max(Q[s_next])
    Q = Q.copy()
    Q[s, a] += 0.25 * (target - Q[s, a])
    return Q


def naive_mse(Q, n):
    Q_star = np.array([[0.0, (1 - 1 / n) ** (n - 1 - s)] for s in range(n)])
    return np.mean((Q - Q_star) ** 2)


def naive_uniform(n, seed):
    rng, Q, memory = naive_start(n, seed)
    updates = 0
    while naive_mse(Q, n) >= 1e-3:
        Q = naive_update(Q, memory[int(rng.random() * len(memory))], n)
        updates += 1
    return updates


def naive_oracle(n, seed):
    """Exhaustive: try every transition of the memory, keep the first with the lowest loss after."""
    _, Q, memory = naive_start(n, seed)
    updates = 0
    while naive_mse(Q, n) >= 1e-3:
        losses = [naive_mse(naive_update(Q, t, n), n) for t in memory]
        Q = naive_update(Q, memory[int(np.argmin(losses))], n)
        updates += 1
    return updates


@pytest.mark.parametrize("n,seed", [(1, 0), (2, 1), (3, 2), (4, 3), (5, 4)])
def test_uniform_counts_match_a_naive_loop(n, seed):
    assert bc.updates_to_learn(n, "uniform", seed) == naive_uniform(n, seed)


@pytest.mark.parametrize("n,seed", [(2, 0), (3, 1), (4, 2)])
def test_oracle_counts_match_an_exhaustive_search(n, seed):
    assert bc.updates_to_learn(n, "oracle", seed) == naive_oracle(n, seed)


def test_rank_keeps_its_order_sorted_by_stored_priority():
    rng = np.random.default_rng(0)
    mem = bc.memory(5)
    rank = bc.Rank(mem, rng)
    stored = np.full(len(mem["s"]), np.inf)
    for _ in range(300):
        i = rank.pick(None)
        delta = rng.choice([0.0, 0.5, rng.normal()])   # ties included
        rank.tell(i, delta)
        stored[i] = abs(delta)
        assert sorted(rank.order.tolist()) == list(range(len(stored)))
        np.testing.assert_array_equal(-rank.minus_p, stored[rank.order])
        assert (rank.minus_p[:-1] <= rank.minus_p[1:]).all()     # rank 1 first: the largest |delta|


def test_proportional_writes_the_new_priority_into_the_sum_tree():
    mem = bc.memory(4)
    prop = bc.Proportional(mem, np.random.default_rng(0))
    assert prop.replay.tree.total == pytest.approx(len(mem["s"]))     # all at the max priority 1
    i = prop.pick(None)
    prop.tell(i, -0.3)
    assert prop.replay.tree[i] == pytest.approx((0.3 + bc.EPS) ** bc.ALPHA["proportional"])


def test_the_oracle_needs_fewer_updates_than_uniform():
    def median(replay):
        return np.median([bc.updates_to_learn(6, replay, seed) for seed in range(5)])

    assert median("oracle") <= median("proportional") <= median("uniform")
    assert median("oracle") <= median("rank") <= median("uniform")


def test_updates_to_learn_is_deterministic_given_the_seed():
    for replay in bc.REPLAYS:
        assert bc.updates_to_learn(5, replay, 7) == bc.updates_to_learn(5, replay, 7)
    assert len({bc.updates_to_learn(5, "uniform", seed) for seed in range(6)}) > 1


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"replay='greedy'.*'uniform', 'rank', 'proportional', 'oracle'"):
        bc.updates_to_learn(4, "greedy", 0)
    with pytest.raises(ValueError, match=r"n=0 is not allowed.*\[1, 20\]"):
        bc.updates_to_learn(0, "uniform", 0)
    with pytest.raises(TypeError, match=r"n=2.5"):
        bc.updates_to_learn(2.5, "uniform", 0)
    with pytest.raises(ValueError, match=r"seed=-1"):
        bc.updates_to_learn(4, "uniform", -1)


def test_a_run_past_the_cap_raises(monkeypatch):
    monkeypatch.setattr(bc, "UPDATES_PER_TRANSITION", 1)
    with pytest.raises(RuntimeError, match="did not learn within 30 updates"):
        bc.updates_to_learn(4, "uniform", 0)


# ---------------------------------------------------------------------------------------------------------
# The sweep and the sentence printed from it
# ---------------------------------------------------------------------------------------------------------


def test_sweep_medians_gap_and_verdict():
    records = bc.sweep([2, 3], ("uniform", "oracle"), [0, 1, 2])
    assert len(records) == 12
    assert {r["memory_size"] for r in records} == {6, 14}
    med = bc.medians(records)
    assert med[("uniform", 3)] == np.median([r["updates"] for r in records if r["replay"] == "uniform"
                                             and r["n"] == 3])
    assert bc.gap(records, 3) == med[("uniform", 3)] / med[("oracle", 3)]

    fake = [{"n": n, "replay": r, "seed": 0, "updates": u} for n in (2, 4, 6)
            for r, u in (("uniform", 10 * 4**n), ("rank", 5 * 2**n), ("proportional", 5 * 2**n), ("oracle", 10 * n))]
    sentence = bc.verdict(fake)
    assert "grows roughly exponentially" in sentence and "3 of 3 chain lengths" in sentence
    flat = [{**rec, "updates": 100} for rec in fake]
    assert "does not grow" in bc.verdict(flat)
