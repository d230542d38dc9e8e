"""Learning-curve plotting: the numbers behind the band, and what is drawn."""

import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from rlteach import policy_gradient as pg
from rlteach.monitor import TrainResult
from rlteach.plotting import curve_band, plot_learning_curves


def fake(evals, solved=None):
    r = TrainResult(config=pg.Config(), evals=evals, episode_returns=[5.0, 9.0], episode_steps=[300, 900],
                    episode_seconds=[0.3, 0.9])
    if solved:
        r.solved_at_steps, r.solved_at_seconds = solved
    return r


def test_curve_band_holds_each_run_between_and_after_evaluations():
    a = fake([(1000, 1.0, 10.0), (2000, 2.0, 30.0)])
    b = fake([(1000, 1.5, 20.0)])  # stopped early: its last evaluation is carried forward
    grid, mean, std = curve_band([a, b], "steps", num_points=5)   # grid 0, 500, 1000, 1500, 2000
    np.testing.assert_allclose(grid, [0, 500, 1000, 1500, 2000])
    assert np.isnan(mean[0]) and np.isnan(mean[1])                 # before any evaluation
    np.testing.assert_allclose(mean[2:], [15.0, 15.0, 25.0])
    np.testing.assert_allclose(std[2:], [5.0, 5.0, 5.0])
    grid_s, mean_s, _ = curve_band([a, b], "seconds", num_points=3)  # 0, 1, 2 seconds
    np.testing.assert_allclose(mean_s[1:], [10.0, 25.0])
    with pytest.raises(ValueError, match="x='minutes'"):
        curve_band([a], "minutes")


def test_plot_learning_curves_draws_band_threshold_and_solved_marks():
    runs = [fake([(1000, 1.0, 100.0), (2000, 2.0, 480.0)], solved=(2000, 2.0)), fake([(1000, 1.0, 200.0)])]
    fig = plot_learning_curves(runs)
    ax = fig.axes[0]
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert "a2c (eval, 2 seeds)" in labels and "solved (475)" in labels
    assert any(isinstance(c, PolyCollection) for c in ax.collections)          # the +-std band
    star = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert len(star) == 1 and star[0].get_xdata()[0] == 2000


def test_single_run_shows_its_training_episodes_and_dicts_compare_settings():
    fig = plot_learning_curves(fake([(1000, 1.0, 50.0)]), x="seconds")
    episodes = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "training episodes"]
    np.testing.assert_allclose(episodes[0].get_xdata(), [0.3, 0.9])
    fig = plot_learning_curves({"lr=1e-3": [fake([(1000, 1.0, 50.0)])], "lr=1e-4": fake([(1000, 1.0, 20.0)])})
    assert {"lr=1e-3 (eval, 1 seed)", "lr=1e-4 (eval, 1 seed)"} <= {ln.get_label() for ln in fig.axes[0].get_lines()}
