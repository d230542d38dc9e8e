"""Notebook 04's opening plots: tabular Q-learning's error, the Huber loss against the squared loss."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from rlteach.mdp import ChainMDP, q_learning
from rlteach.plotting import plot_huber, plot_q_learning


def test_plot_q_learning_draws_each_runs_error_against_steps():
    mdp = ChainMDP(length=4, left_reward=0.6, gamma=0.8)
    runs = {f"lr {a}": q_learning(mdp, 2000, lr=a, seed=0)[1:] for a in (0.1, 0.5)}
    fig = plot_q_learning(runs)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == list(runs)
    for line, (steps, errors) in zip(ax.get_lines(), runs.values(), strict=True):
        np.testing.assert_array_equal(line.get_xdata(), steps)
        np.testing.assert_array_equal(line.get_ydata(), errors)
    assert ax.get_yscale() == "log"
    plt.close(fig)
    with pytest.raises(TypeError, match="runs"):
        plot_q_learning([])


def test_plot_huber_losses_and_gradients_follow_their_formulas():
    fig = plot_huber(delta_max=3.0, kappa=1.0)
    loss_ax, grad_ax = fig.axes
    (sq_x, sq), (hu_x, hu) = [(line.get_xdata(), line.get_ydata()) for line in loss_ax.get_lines()]
    np.testing.assert_allclose(sq, 0.5 * sq_x**2)
    np.testing.assert_allclose(hu, np.where(np.abs(hu_x) <= 1, 0.5 * hu_x**2, np.abs(hu_x) - 0.5))
    (g_x, g_sq), (_, g_hu) = [(line.get_xdata(), line.get_ydata()) for line in grad_ax.get_lines()]
    np.testing.assert_allclose(g_sq, g_x)
    np.testing.assert_allclose(g_hu, np.clip(g_x, -1, 1))             # a large TD error: a bounded gradient
    plt.close(fig)
    with pytest.raises(ValueError, match="kappa"):
        plot_huber(kappa=0)


def test_blind_cliffwalk_draws_each_replays_median_and_spread_on_log_log_axes():
    from rlteach.blind_cliffwalk import sweep
    from rlteach.plotting import plot_blind_cliffwalk

    records = sweep([2, 3, 4], ("uniform", "oracle"), [0, 1, 2])
    fig = plot_blind_cliffwalk(records)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["uniform", "oracle"]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    for line, replay in zip(ax.get_lines(), ("uniform", "oracle"), strict=True):
        np.testing.assert_array_equal(line.get_xdata(), [6, 14, 30])            # N = 2^(n+1) - 2
        medians = [np.median([r["updates"] for r in records if r["replay"] == replay and r["n"] == n])
                   for n in (2, 3, 4)]
        np.testing.assert_array_equal(line.get_ydata(), medians)
    assert len(ax.collections) == 2                                              # one min-max band each
    band = ax.collections[0].get_paths()[0].vertices
    low = min(r["updates"] for r in records if r["replay"] == "uniform" and r["n"] == 2)
    high = max(r["updates"] for r in records if r["replay"] == "uniform" and r["n"] == 2)
    assert band[:, 1].min() == low and band[:, 1].max() >= high
    plt.close(fig)
    with pytest.raises(TypeError, match="records"):
        plot_blind_cliffwalk([])
