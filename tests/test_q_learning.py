"""Q* by value iteration against a brute force over every deterministic policy; tabular Q-learning
converging to it (notebook 04's opening)."""

import itertools

import numpy as np
import pytest

from rlteach.mdp import ChainMDP, greedy_policy, optimal_q, q_learning

CHAINS = [{}, {"length": 6, "left_reward": 0.6, "gamma": 0.8}, {"length": 4, "slip": 0.0, "step_reward": -0.1},
          {"length": 7, "left_reward": 0.6, "gamma": 0.7, "slip": 0.2}]


def brute_force_q_star(mdp):
    """Q*(s, a) = max over all 2^length deterministic policies of the exact Q^pi(s, a)."""
    best = np.full((mdp.length, 2), -np.inf)
    for actions in itertools.product((0, 1), repeat=mdp.length):
        best = np.maximum(best, mdp.q_values(np.eye(2)[list(actions)]))
    return best


@pytest.mark.parametrize("kw", CHAINS)
def test_value_iteration_matches_the_best_of_all_deterministic_policies(kw):
    mdp = ChainMDP(**kw)
    q_star = optimal_q(mdp)
    np.testing.assert_allclose(q_star, brute_force_q_star(mdp), atol=1e-9)
    pi_star = greedy_policy(q_star)                  # acting greedily on Q* is optimal: its Q is Q* itself
    np.testing.assert_allclose(mdp.q_values(pi_star), q_star, atol=1e-9)


def test_q_star_satisfies_the_bellman_optimality_equation_state_by_state():
    mdp = ChainMDP(length=5, left_reward=0.6, gamma=0.8)
    Q = optimal_q(mdp)
    for s in range(mdp.length):
        for a in range(2):
            future = sum(mdp.P[s, a, s2] * (Q[s2].max() if s2 < mdp.length else 0.0)
                         for s2 in range(mdp.num_states))
            assert Q[s, a] == pytest.approx(mdp.R[s, a] + mdp.gamma * future, abs=1e-9)


def test_greedy_policy_one_hot_and_ties_to_left():
    np.testing.assert_array_equal(greedy_policy([[1.0, 2.0], [3.0, 0.0], [1.0, 1.0]]),
                                  [[0, 1], [1, 0], [1, 0]])


def test_q_learning_on_a_deterministic_chain_with_lr_1_is_exact():
    mdp = ChainMDP(length=4, slip=0.0, left_reward=0.6, gamma=0.8)
    Q, steps, errors = q_learning(mdp, 5000, lr=1.0, epsilon=0.5, seed=0)
    np.testing.assert_allclose(Q, optimal_q(mdp), atol=1e-12)
    assert errors[-1] < 1e-12 and steps[-1] == 5000 and len(steps) == 50


@pytest.mark.parametrize("seed", range(5))
def test_q_learning_finds_the_optimal_greedy_policy_on_a_slippery_chain(seed):
    mdp = ChainMDP(length=6, left_reward=0.6, gamma=0.8)           # optimal: left in states 0, 1; right after
    q_star = optimal_q(mdp)
    Q, steps, errors = q_learning(mdp, 30_000, lr=0.1, epsilon=0.2, seed=seed)
    np.testing.assert_array_equal(greedy_policy(Q), greedy_policy(q_star))
    assert errors[-1] < 0.15 and errors[0] > 0.5                   # it started far away and came close
    assert Q.argmax(1).tolist() == [0, 0, 1, 1, 1, 1]


def test_q_learning_is_reproducible_and_smaller_lr_ends_closer():
    mdp = ChainMDP(length=6, left_reward=0.6, gamma=0.8)
    a = q_learning(mdp, 30_000, lr=0.1, seed=3)
    np.testing.assert_array_equal(a[0], q_learning(mdp, 30_000, lr=0.1, seed=3)[0])
    floor = {lr: np.mean([q_learning(mdp, 30_000, lr=lr, seed=s)[2][-50:].mean() for s in range(4)])
             for lr in (0.1, 0.02)}
    assert floor[0.02] < floor[0.1]


@pytest.mark.parametrize("kw", [{"lr": 0.0}, {"lr": 1.5}, {"epsilon": -0.1}, {"num_steps": 0},
                                {"num_steps": 2.5}, {"record_every": 0}])
def test_q_learning_rejects_bad_input(kw):
    args = {"num_steps": 10, **kw}
    with pytest.raises(ValueError, match=next(iter(kw))):
        q_learning(ChainMDP(), **args)
