"""rlteach.replay against brute force written here: prefix sums for the sum-tree, a chi-square test for the
sampling frequencies, the importance-weight formula, and direct sums for the n-step transitions."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlteach.replay import NStepBuilder, PrioritizedReplay, SumTree, priorities_from_td, stack

# ---------------------------------------------------------------------------------------------------------
# Sum-tree against brute-force prefix sums
# ---------------------------------------------------------------------------------------------------------


def brute_find(leaves, masses):
    """The leaf i with prefix(i) <= u < prefix(i+1), by cumsum + searchsorted; at u = total (past every
    prefix) the last non-zero leaf."""
    c = np.cumsum(leaves)
    i = np.searchsorted(c, masses, side="right")
    return np.where(i == len(leaves), np.flatnonzero(leaves)[-1], i)


def filled_tree(leaves):
    tree = SumTree(len(leaves))
    tree.update(np.arange(len(leaves)), leaves)
    return tree


def boundary_masses(leaves, rng, n_random=200):
    """0, the total, every prefix boundary, and uniform masses in between."""
    c = np.cumsum(leaves)
    return np.concatenate([[0.0, c[-1]], c, rng.uniform(0, c[-1], n_random)])


CAPACITIES = [1, 2, 3, 5, 7, 100, 1000, 1023, 1025]


@pytest.mark.parametrize("capacity", CAPACITIES)
def test_find_matches_prefix_sums(capacity):
    """Integer-valued leaves keep every sum exact, so even masses on a boundary must match exactly."""
    rng = np.random.default_rng(capacity)
    leaves = rng.integers(0, 10, capacity).astype(float)
    leaves[rng.integers(capacity)] = 3.0                   # at least one non-zero leaf
    tree = filled_tree(leaves)
    assert tree.total == leaves.sum() and len(tree) == capacity
    masses = boundary_masses(leaves, rng)
    found = tree.find(masses)
    np.testing.assert_array_equal(found, brute_find(leaves, masses))
    assert (leaves[found] > 0).all()
    np.testing.assert_array_equal(tree[np.arange(capacity)], leaves)


@pytest.mark.parametrize("capacity", [5, 100, 1023, 1025])
def test_find_with_float_leaves(capacity):
    """Non-integer leaves: the tree sums in a different order than cumsum, so allow rounding at a boundary,
    but a zero leaf must never come back and away from boundaries the answer is exact."""
    rng = np.random.default_rng(capacity + 1)
    leaves = rng.exponential(size=capacity) * (rng.random(capacity) < 0.7)
    leaves[0] = 0.0
    leaves[-1] = 0.0                                       # zeros at both ends: u = 0 and u = total
    leaves[capacity // 2] = 0.5
    tree = filled_tree(leaves)
    masses = boundary_masses(leaves, rng, 2000)
    masses = masses[masses <= tree.total]                  # cumsum's total may round above the tree's
    found = tree.find(masses)
    assert (leaves[found] > 0).all()
    c = np.cumsum(leaves)
    tol = 1e-9 * c[-1]
    assert (c[found] - leaves[found] <= masses + tol).all() and (masses < c[found] + tol).all()
    clear = np.min(np.abs(masses[:, None] - c[None, :]), axis=1) > tol
    np.testing.assert_array_equal(found[clear], brute_find(leaves, masses[clear]))


@pytest.mark.parametrize("capacity", [7, 1000, 1025])
def test_sparse_tree_never_returns_a_zero_leaf(capacity):
    leaves = np.zeros(capacity)
    leaves[[1, capacity // 3, capacity - 2]] = [0.1, 7.0, 1e-9]
    tree = filled_tree(leaves)
    c = np.cumsum(leaves)
    masses = np.concatenate([[0.0, tree.total, np.nextafter(tree.total, 0)], c, np.linspace(0, tree.total, 5001)])
    masses = np.minimum(masses, tree.total)
    found = tree.find(masses)
    assert set(found.tolist()) <= {1, capacity // 3, capacity - 2}
    assert tree.find(tree.total) == capacity - 2 and tree.find(0.0) == 1


def test_single_leaf_and_scalars():
    tree = SumTree(1)
    tree.update(0, 2.5)
    assert tree.total == 2.5 and tree[0] == 2.5
    assert tree.find(0.0) == 0 and tree.find(2.5) == 0 and np.shape(tree.find(1.0)) == ()
    tree.update(0, 0.0)
    with pytest.raises(ValueError, match="every leaf"):
        tree.find(0.0)


def test_duplicate_indices_last_value_wins():
    tree = SumTree(5)
    tree.update(np.array([3, 1, 3, 3, 1]), np.array([1.0, 2.0, 5.0, 4.0, 8.0]))
    np.testing.assert_array_equal(tree[np.arange(5)], [0, 8, 0, 4, 0])
    assert tree.total == 12.0


def internal_nodes_are_sums(tree):
    t = tree.tree
    return np.array_equal(t[1:tree.leaf0], t[2:2 * tree.leaf0:2] + t[3:2 * tree.leaf0:2])


def test_no_drift_after_a_million_updates():
    """Values over 16 orders of magnitude, 10^6 leaf writes: each internal node is still exactly the sum of
    its children, the total agrees with a fresh sum, and zeroing every leaf gives a total of exactly 0."""
    rng = np.random.default_rng(0)
    capacity = 1000
    tree = SumTree(capacity)
    for _ in range(2000):
        idx = rng.integers(0, capacity, 500)
        tree.update(idx, 10.0 ** rng.uniform(-8, 8, 500))
    leaves = tree[np.arange(capacity)]
    assert internal_nodes_are_sums(tree)
    assert tree.total == pytest.approx(math.fsum(leaves), rel=1e-12)
    tree.update(np.arange(capacity), 0.0)
    assert tree.total == 0.0


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf, -np.inf])
def test_sumtree_rejects_bad_values(bad):
    tree = SumTree(4)
    with pytest.raises(ValueError, match="finite and >= 0"):
        tree.update([0, 1], [1.0, bad])
    assert tree.total == 0.0                               # nothing was written


@pytest.mark.parametrize("indices", [[-1], [4], [0, 9], [1.0]])
def test_sumtree_rejects_bad_indices(indices):
    with pytest.raises(ValueError, match="index|integers"):
        SumTree(4).update(indices, 1.0)


@pytest.mark.parametrize("capacity", [0, -3, 2.5, True, "8"])
def test_sumtree_rejects_bad_capacity(capacity):
    with pytest.raises((ValueError, TypeError), match="capacity"):
        SumTree(capacity)


@pytest.mark.parametrize("mass", [-0.1, 6.5, np.nan])
def test_find_rejects_masses_outside_the_total(mass):
    tree = filled_tree(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="outside"):
        tree.find([1.0, mass])


@settings(max_examples=150, deadline=None)
@given(leaves=st.lists(st.integers(0, 6), min_size=1, max_size=70), data=st.data())
def test_find_hypothesis(leaves, data):
    leaves = np.array(leaves, dtype=float)
    if leaves.sum() == 0:
        leaves[data.draw(st.integers(0, len(leaves) - 1))] = 1.0
    tree = filled_tree(leaves)
    masses = np.concatenate([np.cumsum(leaves), [0.0], data.draw(st.lists(
        st.floats(0, leaves.sum()), max_size=20))])
    np.testing.assert_array_equal(tree.find(masses), brute_find(leaves, masses))
    assert internal_nodes_are_sums(tree)


# ---------------------------------------------------------------------------------------------------------
# Prioritized replay: storage, priorities, sampling frequencies, weights
# ---------------------------------------------------------------------------------------------------------


def transition(i):
    """A CartPole-sized transition whose every field encodes i, so a sample can be traced to what was added."""
    return {"obs": np.full(4, i, np.float32), "action": i % 2, "reward": float(i), "discount": 0.99,
            "next_obs": np.full(4, i + 1, np.float32), "done": 0.0}


def batch_of(ids):
    return stack([transition(i) for i in ids])


def chi2_quantile(q_z, df):
    """Wilson-Hilferty: the chi-square quantile for the standard normal quantile q_z (scipy is not needed)."""
    return df * (1 - 2 / (9 * df) + q_z * math.sqrt(2 / (9 * df))) ** 3


Z_999 = 3.090232  # the standard normal's 0.999 quantile


def test_wilson_hilferty_matches_tables():
    for df, table in [(10, 29.588), (36, 67.985), (50, 86.661), (100, 149.449)]:  # chi2.ppf(0.999, df)
        assert chi2_quantile(Z_999, df) == pytest.approx(table, rel=1e-2)   # WH is good to ~1% here


def test_sampling_frequencies_chi_square():
    """Counts over many stratified batches against P(i) = p_i^alpha / sum p^alpha. Stratification only
    lowers the variance below the multinomial's, so the chi-square bound is conservative. The same counts
    must reject alpha = 1 and uniform replay, so the test can fail."""
    rng = np.random.default_rng(1)
    alpha, K = 0.6, 40
    p = rng.uniform(0.05, 3.0, K)
    p[[3, 17]] = 0.0                                       # never sampled
    buffer = PrioritizedReplay(K, alpha=alpha, seed=2)
    buffer.add_batch(batch_of(range(K)), p)
    counts = np.zeros(K)
    for _ in range(200):
        _, idx, _ = buffer.sample(256, beta=0.4)
        counts += np.bincount(idx, minlength=K)
    assert counts[3] == 0 and counts[17] == 0
    live = p > 0

    def statistic(P):
        expected = counts.sum() * P[live] / P[live].sum()
        return ((counts[live] - expected) ** 2 / expected).sum()

    bound = chi2_quantile(Z_999, live.sum() - 1)
    assert statistic(p**alpha) < bound
    assert statistic(p**1.0) > bound and statistic(np.ones(K)) > bound


def test_weights_formula():
    rng = np.random.default_rng(3)
    alpha, N = 0.7, 30
    p = rng.uniform(0.1, 5.0, N)
    buffer = PrioritizedReplay(50, alpha=alpha, seed=4)
    buffer.add_batch(batch_of(range(N)), p)
    P = p**alpha / (p**alpha).sum()
    for beta in [0.0, 0.4, 1.0]:
        batch, idx, w = buffer.sample(64, beta)
        expected = (N * P[idx]) ** -beta
        assert w.dtype == np.float32 and w.shape == (64,)
        np.testing.assert_allclose(w, expected / expected.max(), rtol=1e-6)
        np.testing.assert_array_equal(batch["obs"][:, 0], idx)       # transition i was written at index i
        np.testing.assert_array_equal(batch["action"], idx % 2)
    _, _, w = buffer.sample(64, 0.0)
    np.testing.assert_array_equal(w, np.ones(64, np.float32))


def test_priority_none_is_the_largest_seen_and_stored_as_p_alpha():
    alpha = 0.5
    buffer = PrioritizedReplay(10, alpha=alpha)
    assert buffer.add(transition(0)) == 0
    assert buffer.tree[0] == 1.0                           # nothing seen yet: p = 1
    buffer.add(transition(1), priority=9.0)
    buffer.add(transition(2), priority=4.0)
    buffer.add(transition(3))
    np.testing.assert_allclose(buffer.tree[np.arange(4)], np.array([1.0, 9.0, 4.0, 9.0]) ** alpha)
    buffer.update_priorities(np.array([0, 2]), np.array([16.0, 0.25]))
    buffer.add(transition(4))
    np.testing.assert_allclose(buffer.tree[np.arange(5)], np.array([16.0, 9.0, 0.25, 9.0, 16.0]) ** alpha)
    buffer.add_batch(batch_of([5, 6]))
    np.testing.assert_allclose(buffer.tree[[5, 6]], [4.0, 4.0])
    assert len(buffer) == 7


def test_ring_buffer_overwrites_the_oldest():
    buffer = PrioritizedReplay(3, seed=0)
    for i in range(5):
        buffer.add(transition(i), priority=float(i + 1))
    assert len(buffer) == 3
    np.testing.assert_array_equal(buffer.storage["obs"][:, 0], [3, 4, 2])
    np.testing.assert_allclose(buffer.tree[np.arange(3)], np.array([4.0, 5.0, 3.0]) ** 0.6)
    batch, idx, _ = buffer.sample(100, 0.5)                # more than stored: with replacement
    assert set(batch["obs"][:, 0].tolist()) == {2.0, 3.0, 4.0}
    np.testing.assert_array_equal(batch["obs"][:, 0], buffer.storage["obs"][idx, 0])


def test_add_batch_wraps_around():
    buffer = PrioritizedReplay(5)
    np.testing.assert_array_equal(buffer.add_batch(batch_of([0, 1, 2])), [0, 1, 2])
    np.testing.assert_array_equal(buffer.add_batch(batch_of([3, 4, 5, 6]), np.arange(1.0, 5.0)), [3, 4, 0, 1])
    np.testing.assert_array_equal(buffer.storage["obs"][:, 0], [5, 6, 2, 3, 4])
    np.testing.assert_allclose(buffer.tree[np.arange(5)], np.array([3.0, 4.0, 1.0, 1.0, 2.0]) ** 0.6)
    assert len(buffer) == 5


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(1, 9), sizes=st.lists(st.integers(0, 20), min_size=1, max_size=6))
def test_add_batch_equals_one_by_one(capacity, sizes):
    """Vectorised add_batch (wrap-around, B > capacity) leaves the same storage and priorities as B adds."""
    one, many = PrioritizedReplay(capacity), PrioritizedReplay(capacity)
    start = 0
    for B in sizes:
        ids = np.arange(start, start + B)
        p = 1.0 + ids % 7.0
        if B:
            many.add_batch(batch_of(ids), p)
        for i in ids:                                      # the same dtypes as stack gives add_batch
            one.add({k: v[0] for k, v in batch_of([i]).items()}, priority=1.0 + i % 7.0)
        start += B
    assert len(one) == len(many) == min(start, capacity)
    if start:
        for k in one.storage:
            np.testing.assert_array_equal(one.storage[k][:len(one)], many.storage[k][:len(many)])
    np.testing.assert_array_equal(one.tree.tree, many.tree.tree)


def test_sampling_is_stratified():
    """Equal priorities and batch_size = N: segment j of the mass is exactly leaf j, so each stored
    transition comes once (independent draws would repeat some and miss others)."""
    buffer = PrioritizedReplay(64, seed=0)
    buffer.add_batch(batch_of(range(50)), np.full(50, 2.0))
    for _ in range(20):
        np.testing.assert_array_equal(buffer.sample(50, 0.4)[1], np.arange(50))


def test_sampled_batch_is_a_copy_and_the_seed_reproduces():
    a, b = PrioritizedReplay(20, seed=7), PrioritizedReplay(20, seed=np.random.default_rng(7))
    for buffer in (a, b):
        buffer.add_batch(batch_of(range(20)), np.linspace(0.1, 2, 20))
    batch_a, idx_a, w_a = a.sample(32, 0.4)
    batch_b, idx_b, w_b = b.sample(32, 0.4)
    np.testing.assert_array_equal(idx_a, idx_b)
    np.testing.assert_array_equal(w_a, w_b)
    batch_a["obs"][:] = -1
    assert (a.storage["obs"] >= 0).all()


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_replay_rejects_bad_priorities(bad):
    buffer = PrioritizedReplay(4)
    with pytest.raises(ValueError, match="priorities"):
        buffer.add(transition(0), priority=bad)
    with pytest.raises(ValueError, match="priorities"):
        buffer.add_batch(batch_of([0, 1]), [1.0, bad])
    buffer.add_batch(batch_of([0, 1]))
    with pytest.raises(ValueError, match="priorities"):
        buffer.update_priorities([0, 1], [1.0, bad])
    assert len(buffer) == 2 and buffer.max_priority == 1.0     # the failed calls stored nothing


def test_replay_rejects_bad_arguments():
    with pytest.raises(ValueError, match="capacity"):
        PrioritizedReplay(0)
    with pytest.raises(ValueError, match="alpha"):
        PrioritizedReplay(4, alpha=-0.1)
    buffer = PrioritizedReplay(4)
    with pytest.raises(ValueError, match="empty"):
        buffer.sample(2, 0.4)
    buffer.add(transition(0))
    for beta in [-0.1, 1.1, np.nan]:
        with pytest.raises(ValueError, match="beta"):
            buffer.sample(2, beta)
    for batch_size in [0, -1, 2.0]:
        with pytest.raises((ValueError, TypeError), match="batch_size"):
            buffer.sample(batch_size, 0.4)
    other = transition(1)
    del other["done"]
    with pytest.raises(ValueError, match="keys"):
        buffer.add(other)
    with pytest.raises(ValueError, match="keys"):
        buffer.add({**transition(1), "extra": 1.0})
    with pytest.raises(ValueError, match="shape"):
        buffer.add({**transition(1), "obs": np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match="priorities has shape"):
        buffer.add_batch(batch_of([1, 2]), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="only 1 transitions"):
        buffer.update_priorities([2], [1.0])
    buffer.update_priorities([0], [0.0])
    with pytest.raises(ValueError, match="every priority is 0"):
        buffer.sample(2, 0.4)


def test_priorities_from_td():
    td = np.array([-2.0, 0.0, 0.5])
    np.testing.assert_array_equal(priorities_from_td(td), [2.0 + 1e-6, 1e-6, 0.5 + 1e-6])
    out = priorities_from_td(torch.tensor(td, dtype=torch.float32, requires_grad=True), eps=0.01)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_allclose(out, [2.01, 0.01, 0.51])
    with pytest.raises(ValueError, match="eps"):
        priorities_from_td(td, eps=-1.0)


# ---------------------------------------------------------------------------------------------------------
# n-step transitions against direct sums
# ---------------------------------------------------------------------------------------------------------


def random_episode(rng, length, ending):
    obs = rng.normal(size=(length + 1, 3))                 # s_0 .. s_L, s_L the final observation
    return {"obs": obs, "action": rng.integers(0, 4, length), "reward": rng.normal(size=length),
            "ending": ending}


def brute_n_step(ep, n, gamma):
    """Every start t: k = min(n, L - t) rewards, summed literally. Ending "both" (terminated and truncated
    on one step) counts as terminated."""
    L = len(ep["reward"])
    out = []
    for t in range(L):
        k = min(n, L - t)
        out.append({"obs": ep["obs"][t], "action": ep["action"][t],
                    "reward": sum(gamma**i * ep["reward"][t + i] for i in range(k)), "discount": gamma**k,
                    "next_obs": ep["obs"][t + k], "done": float(ep["ending"] != "truncated" and t + k == L),
                    "emitted_at": min(t + n - 1, L - 1)})
    return out


def run_builder(builder, episodes):
    out = []
    for ep in episodes:
        L = len(ep["reward"])
        for t in range(L):
            last = t == L - 1
            done = builder.add(ep["obs"][t], ep["action"][t], ep["reward"][t], ep["obs"][t + 1],
                               terminated=last and ep["ending"] in ("terminated", "both"),
                               truncated=last and ep["ending"] in ("truncated", "both"))
            out += [{**tr, "emitted_at": t} for tr in done]
        assert len(builder.pending) == 0                   # empty after every episode end
    return out


def check_n_step(episodes, n, gamma):
    got = run_builder(NStepBuilder(n, gamma), episodes)
    expected = [tr for ep in episodes for tr in brute_n_step(ep, n, gamma)]
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert set(g) == set(e)
        np.testing.assert_array_equal(g["obs"], e["obs"])
        np.testing.assert_array_equal(g["next_obs"], e["next_obs"])
        assert g["action"] == e["action"] and g["done"] == e["done"] and g["emitted_at"] == e["emitted_at"]
        assert g["reward"] == pytest.approx(e["reward"], abs=1e-12)
        assert g["discount"] == pytest.approx(e["discount"], abs=1e-15)


@pytest.mark.parametrize("n", [1, 2, 3, 10])
@pytest.mark.parametrize("gamma", [0.0, 0.9, 1.0])
def test_n_step_against_direct_sums(n, gamma):
    rng = np.random.default_rng(n)
    endings = ["terminated", "truncated"] * 4
    episodes = [random_episode(rng, length, end) for length, end in zip([1, 2, 5, 7, 12, 3, 9, 1], endings,
                                                                         strict=True)]
    check_n_step(episodes, n, gamma)


def test_terminated_wins_when_both_flags_are_set():
    ep = random_episode(np.random.default_rng(0), 4, "both")
    got = run_builder(NStepBuilder(3, 0.9), [ep])
    assert [tr["done"] for tr in got] == [0.0, 1.0, 1.0, 1.0]      # t = 0 ends at step 2, before the end
    check_n_step([ep], 3, 0.9)


def test_n_step_copies_observations():
    builder = NStepBuilder(2, 0.5)
    obs = np.zeros(3)
    builder.add(obs, 0, 1.0, obs + 1, False, False)
    obs[:] = 9.0                                           # an env that reuses its observation buffer
    (tr,) = builder.add(np.ones(3), 1, 2.0, np.full(3, 2.0), False, False)
    np.testing.assert_array_equal(tr["obs"], np.zeros(3))
    assert tr["reward"] == 2.0 and tr["discount"] == 0.25 and tr["done"] == 0.0


@settings(max_examples=100, deadline=None)
@given(lengths=st.lists(st.integers(1, 12), min_size=1, max_size=4), n=st.integers(1, 15),
       gamma=st.floats(0, 1), endings=st.lists(st.sampled_from(["terminated", "truncated"]), min_size=4,
                                               max_size=4), seed=st.integers(0, 2**16))
def test_n_step_hypothesis(lengths, n, gamma, endings, seed):
    rng = np.random.default_rng(seed)
    check_n_step([random_episode(rng, L, e) for L, e in zip(lengths, endings, strict=False)], n, gamma)


def test_n_step_rejects_bad_arguments():
    for n in [0, 1.5, True]:
        with pytest.raises((ValueError, TypeError), match="n="):
            NStepBuilder(n, 0.9)
    for gamma in [-0.1, 1.5]:
        with pytest.raises(ValueError, match="gamma"):
            NStepBuilder(3, gamma)


def test_stack_feeds_the_replay():
    rng = np.random.default_rng(5)
    builder = NStepBuilder(3, 0.99)
    ep = random_episode(rng, 6, "truncated")
    transitions = run_builder(builder, [ep])
    for tr in transitions:
        del tr["emitted_at"]
    batch = stack(transitions)
    assert batch["obs"].shape == (6, 3) and batch["obs"].dtype == np.float32
    assert batch["action"].dtype == np.int64
    assert all(batch[k].dtype == np.float32 and batch[k].shape == (6,) for k in ("reward", "discount", "done"))
    buffer = PrioritizedReplay(10, seed=0)
    buffer.add_batch(batch, priorities_from_td(rng.normal(size=6)))
    sample, idx, _ = buffer.sample(8, 0.4)
    np.testing.assert_array_equal(sample["next_obs"], batch["next_obs"][idx])
    with pytest.raises(ValueError, match="empty"):
        stack([])
