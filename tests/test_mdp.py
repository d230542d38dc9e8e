"""The chain MDP's exact values against brute force and sampling; the bias/variance study."""

import numpy as np
import pytest

from rlteach.advantage import discounted_returns
from rlteach.mdp import ChainMDP, bias_variance, estimate_first_advantage, fit_critic_mc, offset_critic


def brute_force_values(mdp, pi, sweeps=2000):
    """Iterative policy evaluation written out state by state: V(s) <- sum_a pi(a|s) [R + gamma sum P V]."""
    V = [0.0] * mdp.num_states
    for _ in range(sweeps):
        V = [sum(pi[s][a] * (mdp.R[s][a] + mdp.gamma * sum(mdp.P[s][a][s2] * V[s2]
                                                           for s2 in range(mdp.num_states)))
                 for a in range(2)) if s < mdp.length else 0.0
             for s in range(mdp.num_states)]
    return np.array(V)


@pytest.mark.parametrize("kw", [{}, {"length": 3, "slip": 0.0, "gamma": 1.0}, {"length": 6, "step_reward": -0.1}])
def test_exact_values_match_iterative_evaluation(kw):
    mdp = ChainMDP(**kw)
    pi = mdp.policy(0.7)
    np.testing.assert_allclose(mdp.values(pi), brute_force_values(mdp, pi), atol=1e-9)


def test_bellman_backup_is_one_sweep_written_out_state_by_state():
    mdp = ChainMDP(length=6, step_reward=-0.1)
    pi = mdp.policy(0.7)
    V = np.random.default_rng(0).normal(size=mdp.num_states)
    V[mdp.length:] = 0.0
    literal = [sum(pi[s][a] * (mdp.R[s][a] + mdp.gamma * sum(mdp.P[s][a][s2] * V[s2] for s2 in range(mdp.num_states)))
                   for a in range(2)) if s < mdp.length else 0.0 for s in range(mdp.num_states)]
    np.testing.assert_allclose(mdp.bellman_backup(V, pi), literal, atol=1e-12)
    P_pi, r_pi = mdp.policy_model(pi)
    assert P_pi.shape == (mdp.length, mdp.num_states)
    np.testing.assert_allclose(P_pi.sum(1), 1.0)
    np.testing.assert_allclose(r_pi, [sum(pi[s][a] * mdp.R[s][a] for a in range(2)) for s in range(mdp.length)])


@pytest.mark.parametrize("kw", [{}, {"length": 9, "slip": 0.2, "gamma": 0.95}, {"length": 4, "step_reward": -0.1}])
def test_bellman_iteration_converges_to_the_linear_solve_by_gamma_per_sweep(kw):
    mdp = ChainMDP(**kw)
    pi = mdp.policy(0.6)
    history, errors = mdp.iterate_bellman(pi, num_sweeps=400)
    assert history.shape == (401, mdp.num_states) and (history[0] == 0).all()
    np.testing.assert_allclose(history[-1], mdp.values(pi), atol=1e-8)
    np.testing.assert_allclose(history[-1], brute_force_values(mdp, pi, sweeps=400), atol=1e-12)
    np.testing.assert_allclose(history[1], mdp.bellman_backup(np.zeros(mdp.num_states), pi))
    assert errors[-1] < 1e-8
    big = errors > 1e-12                                         # away from round-off
    assert (errors[1:][big[1:]] <= mdp.gamma * errors[:-1][big[1:]] + 1e-15).all()


def test_plot_bellman_iteration_draws_the_history_and_the_error():
    import matplotlib.pyplot as plt

    from rlteach.plotting import plot_bellman_iteration

    mdp = ChainMDP()
    pi = mdp.policy(0.6)
    history, errors = mdp.iterate_bellman(pi, num_sweeps=20)
    fig = plot_bellman_iteration(history[:, : mdp.length], errors, mdp.values(pi)[: mdp.length], mdp.gamma)
    left, right = fig.axes
    for s in range(mdp.length):
        np.testing.assert_allclose(left.lines[2 * s].get_ydata(), history[: len(left.lines[0].get_ydata()), s])
    np.testing.assert_allclose(right.lines[0].get_ydata(), errors)
    np.testing.assert_allclose(right.lines[1].get_ydata(), errors[0] * mdp.gamma ** np.arange(21))
    with pytest.raises(ValueError, match="errors \\[K\\]"):
        plot_bellman_iteration(history, errors[:-1], mdp.values(pi), mdp.gamma)
    plt.close("all")


def test_advantage_is_q_minus_v_and_averages_to_zero():
    mdp = ChainMDP()
    pi = mdp.policy(0.6)
    A, Q, V = mdp.advantages(pi), mdp.q_values(pi), mdp.values(pi)
    np.testing.assert_allclose(A, Q - V[: mdp.length, None])
    np.testing.assert_allclose((pi * A).sum(1), 0.0, atol=1e-12)
    assert (A[:, 1] > 0).all() and (A[:, 0] < 0).all()  # moving right toward +1 beats the average


def test_sampled_returns_estimate_q():
    """Monte-Carlo returns from (s, a) average to the exact Q(s, a), within 5 standard errors."""
    mdp = ChainMDP()
    pi = mdp.policy(0.6)
    Q = mdp.q_values(pi)
    for s, a in [(0, 0), (2, 1), (4, 1)]:
        ep = mdp.sample_episodes(pi, 20000, np.random.default_rng(s), start_state=s, first_action=a)
        G = discounted_returns(ep.rewards, np.zeros_like(ep.rewards), ep.terminated, ep.truncated, mdp.gamma)[0]
        assert abs(G.mean() - Q[s, a]) < 5 * G.std() / np.sqrt(len(G))


def test_sample_episodes_padding_and_time_limit():
    mdp = ChainMDP(length=9, slip=0.0)
    ep = mdp.sample_episodes(mdp.policy(0.5), 50, np.random.default_rng(0), max_steps=3)
    assert ep.rewards.shape[0] <= 3 and ep.rewards.shape[1] == 50
    assert (ep.lengths >= 1).all() and (ep.lengths <= 3).all()
    # each episode ends exactly once, at its last valid step: terminated or (at the limit) truncated
    last = ep.lengths - 1
    cols = np.arange(50)
    ended = ep.terminated[last, cols] | ep.truncated[last, cols]
    assert ended.all()
    assert (ep.truncated[last, cols] == (~ep.terminated[last, cols] & (ep.lengths == 3))).all()
    assert (ep.rewards[~ep.valid] == 0).all() and ep.terminated[~ep.valid].all()
    # a truncated step's next state is a real, non-terminal state; a terminated one's is a terminal end
    assert (ep.next_states[ep.truncated] < mdp.length).all()
    assert (ep.next_states[ep.terminated & ep.valid] >= mdp.length).all()
    stream = ep.as_one_rollout()
    assert len(stream["rewards"]) == ep.lengths.sum()
    assert stream["terminated"].sum() + stream["truncated"].sum() == 50


def test_with_exact_critic_every_estimator_is_unbiased():
    mdp = ChainMDP()
    pi = mdp.policy(0.6)
    rows = bias_variance(mdp, pi, mdp.values(pi), 2, 1, 20000, seed=1, lams=[0.0, 0.5, 1.0], ns=[1, 3])
    for row in rows:
        assert abs(row["bias"]) < 5 * np.sqrt(row["variance"] / 20000), row


def test_mse_is_the_mean_squared_error_and_mse_se_its_standard_error():
    mdp = ChainMDP()
    pi = mdp.policy(0.6)
    critic = offset_critic(mdp, pi, 0.5)
    (row,) = bias_variance(mdp, pi, critic, 2, 1, 500, seed=4, lams=[0.5])
    est = estimate_first_advantage(mdp, pi, critic, 2, 1, 500, np.random.default_rng(4), max_steps=100, lam=0.5)
    squared = (est - (mdp.q_values(pi)[2, 1] - critic[2])) ** 2
    assert row["mse"] == pytest.approx(squared.mean())
    assert row["mse_se"] == pytest.approx(squared.std(ddof=1) / np.sqrt(500))


def test_imperfect_critic_trades_bias_for_variance():
    mdp = ChainMDP()
    pi = mdp.policy(0.6)
    error = np.zeros(mdp.num_states)
    error[: mdp.length] = 0.3
    critic = mdp.values(pi) + error
    rows = {r["param"]: r for r in bias_variance(mdp, pi, critic, 2, 1, 20000, seed=2, lams=[0.0, 0.5, 1.0])}
    # lam = 0 is biased by exactly gamma * E[critic - V](s') = gamma * 0.3 * P(s' not terminal)
    p_nonterminal = mdp.P[2, 1, : mdp.length].sum()
    se = np.sqrt(rows[0.0]["variance"] / 20000)
    assert abs(rows[0.0]["bias"] - mdp.gamma * 0.3 * p_nonterminal) < 5 * se
    assert abs(rows[1.0]["bias"]) < 5 * np.sqrt(rows[1.0]["variance"] / 20000)      # Monte Carlo: unbiased
    assert abs(rows[0.5]["bias"]) < abs(rows[0.0]["bias"])
    assert rows[0.0]["variance"] < rows[0.5]["variance"] < rows[1.0]["variance"]


def test_gae_bias_with_an_offset_critic_matches_its_closed_form():
    """With critic = V + c, E[GAE(lam)] - (Q - critic[s0]) = (1 - lam) sum_k>=1 gamma^k lam^(k-1) c P(s_k non-terminal):
    the critic's error at s_k enters delta_(k-1) with gamma and leaves delta_k with -1, weighted (gamma lam)^k."""
    mdp = ChainMDP()
    pi = mdp.policy(0.6)
    c, s0, a0 = 0.5, 2, 1
    P_pi, _ = mdp.policy_model(pi)
    d = mdp.P[s0, a0, : mdp.length]                   # distribution of s_1 over the non-terminal states
    p_alive = []
    for _ in range(200):
        p_alive.append(d.sum())
        d = d @ P_pi[:, : mdp.length]
    rows = bias_variance(mdp, pi, offset_critic(mdp, pi, c), s0, a0, 20000, seed=3, lams=[0.0, 0.5, 0.9, 1.0])
    for row in rows:
        lam = row["param"]
        closed = (1 - lam) * sum(mdp.gamma ** k * lam ** (k - 1) * c * p_alive[k - 1] for k in range(1, 200))
        assert abs(row["bias"] - closed) < 5 * np.sqrt(row["variance"] / 20000) + 1e-12, (row, closed)


@pytest.mark.parametrize("seed", range(5))
def test_best_lam_and_n_are_in_between_with_notebook_01s_critic(seed):
    """Notebook 01's study (critic = exact V + 0.5): the lowest MSE is at neither extreme, for any seed."""
    mdp = ChainMDP()
    pi = mdp.policy(0.6)
    lams, ns = [0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0], [1, 2, 3, 5, 10, 50]
    rows = bias_variance(mdp, pi, offset_critic(mdp, pi, 0.5), 2, 1, 4000, seed=seed, lams=lams, ns=ns)
    for kind, params in (("gae", lams), ("n-step", ns)):
        mse = [r["mse"] for r in rows if r["estimator"] == kind]
        best = int(np.argmin(mse))
        assert 0 < best < len(params) - 1, (kind, mse)
        assert mse[best] < 0.8 * min(mse[0], mse[-1]), (kind, mse)     # clearly lower, not a tie


def test_fitted_critic_is_imperfect_but_close():
    mdp = ChainMDP()
    pi = mdp.policy(0.6)
    V = mdp.values(pi)
    few = fit_critic_mc(mdp, pi, 5, np.random.default_rng(0))
    many = fit_critic_mc(mdp, pi, 20000, np.random.default_rng(0))
    assert np.abs(few - V).max() > 0.05
    np.testing.assert_allclose(many[: mdp.length], V[: mdp.length], atol=0.03)


def test_bad_input():
    with pytest.raises(ValueError, match="slip=1.5"):
        ChainMDP(slip=1.5)
    with pytest.raises(ValueError, match="length=0"):
        ChainMDP(length=0)
    mdp = ChainMDP()
    with pytest.raises(ValueError, match="p_right=2"):
        mdp.policy(2)
    with pytest.raises(ValueError, match=r"pi must be a \[5, 2\]"):
        mdp.values(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"V must have one value per state, shape \(7,\)"):
        mdp.bellman_backup(np.zeros(5), mdp.policy(0.5))
    with pytest.raises(ValueError, match="num_sweeps=-1"):
        mdp.iterate_bellman(mdp.policy(0.5), num_sweeps=-1)
    with pytest.raises(ValueError, match="exactly one of lam"):
        estimate_first_advantage(mdp, mdp.policy(0.5), mdp.values(mdp.policy(0.5)), 0, 0, 10,
                                 np.random.default_rng(0))
