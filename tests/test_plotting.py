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


# --- 03 A3C: the worker timeline and the staleness histogram ---------------------------------------------


def fake_a3c(timeline, backend="thread", num_workers=2):
    from rlteach import a3c

    config = a3c.Config(backend=backend, num_workers=num_workers)
    return TrainResult(config=config, records={"timeline": timeline, "staleness": [row[5] for row in timeline]})


TIMELINE = [  # worker, t_copy, t_rolled, t_computed, t_applied, staleness, env_steps
    [0, 0.00, 0.10, 0.12, 0.13, 0, 20],
    [1, 0.05, 0.16, 0.18, 0.20, 1, 20],
    [0, 0.13, 0.25, 0.27, 0.28, 1, 20],
    [1, 0.20, 0.30, 0.33, 0.35, 1, 17],
    [0, 0.28, 0.40, 0.41, 0.43, 1, 20],
    [1, 0.35, 0.47, 0.49, 0.50, 1, 20],
]


def bars(collection):
    """(x, width, y_low, y_high) of each rectangle a broken_barh drew, in order."""
    out = []
    for path in collection.get_paths():
        (x0, y0), (x1, y1) = path.get_extents().get_points()
        out.append((x0, x1 - x0, y0, y1))
    return out


def test_plot_timeline_draws_each_phase_of_each_update_in_its_workers_row():
    from rlteach.plotting import plot_timeline

    fig = plot_timeline(fake_a3c(TIMELINE))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["worker 0", "worker 1"]
    assert len(ax.collections) == 2 * 3                              # per worker: rollout, compute, apply
    rows = np.array(TIMELINE)
    for y in (0, 1):
        mine = rows[rows[:, 0] == y]
        for k, (start, stop) in enumerate([(1, 2), (2, 3), (3, 4)]):
            drawn = np.array(bars(ax.collections[3 * y + k]))
            np.testing.assert_allclose(drawn[:, 0], mine[:, start])
            np.testing.assert_allclose(drawn[:, 1], mine[:, stop] - mine[:, start])
            np.testing.assert_allclose(drawn[:, 2:], [[y - 0.35, y + 0.35]] * len(mine))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["rollout", "compute", "apply"]
    assert "thread backend: 2 workers, 6 updates shown" in ax.get_title()


def test_plot_timeline_window_starts_when_every_worker_has_started():
    from rlteach.plotting import plot_timeline

    fig = plot_timeline(fake_a3c(TIMELINE), max_seconds=0.1)     # worker 1 starts at 0.05: window 0.05-0.15
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.get_xlim(), (0.05, 0.15))
    # updates that touch the window: worker 0's first two, worker 1's first
    assert [len(c.get_paths()) for c in ax.collections] == [2, 2, 2, 1, 1, 1]
    assert "3 updates shown" in ax.get_title()
    fig = plot_timeline(fake_a3c(TIMELINE), max_seconds=0.1, start=0.3)
    np.testing.assert_allclose(fig.axes[0].get_xlim(), (0.3, 0.4))


def test_plot_staleness_bar_heights_are_the_counts_and_labels_name_the_setting():
    from rlteach.plotting import plot_staleness

    one = fake_a3c(TIMELINE)                                               # staleness 0 once, 1 five times
    fig = plot_staleness(one)
    (container,) = fig.axes[0].containers
    assert [b.get_height() for b in container] == [1, 5]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["thread, 2 workers (mean 0.83)"]
    other = fake_a3c([[0, 0, 0, 0, 0, s, 20] for s in (0, 3, 3, 2)], backend="process", num_workers=4)
    fig = plot_staleness([one, other])
    first, second = fig.axes[0].containers
    assert [b.get_height() for b in first] == [1, 5]
    assert [b.get_height() for b in second] == [1, 0, 1, 2]
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["thread, 2 workers (mean 0.83)", "process, 4 workers (mean 2.00)"]
    fig = plot_staleness({"mine": other}, normalize=True)
    np.testing.assert_allclose([b.get_height() for b in fig.axes[0].containers[0]], [0.25, 0, 0.25, 0.5])
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "mine (mean 2.00)"


def test_a3c_plots_of_a_run_with_no_updates_yet_draw_empty_axes():
    from rlteach.plotting import plot_staleness, plot_timeline

    empty = fake_a3c([])
    assert "0 workers, 0 updates shown" in plot_timeline(empty, max_seconds=0.5).axes[0].get_title()
    assert [b.get_height() for b in plot_staleness(empty).axes[0].containers[0]] == [0]
