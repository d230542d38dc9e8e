"""Figures of notebooks 03 and 05: A3C against A2C with one legend clear of the curves; point labels that do
not overlap."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from rlteach import a3c, impala
from rlteach import policy_gradient as pg
from rlteach.monitor import TrainResult
from rlteach.timeline import Span


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def fake_run(config, evals, solved=None):
    r = TrainResult(config=config, evals=evals)
    if solved:
        r.solved_at_steps, r.solved_at_seconds = solved
    return r


def test_plot_steps_and_seconds_draws_two_panels_and_one_legend_below_them():
    from rlteach.plotting.a3c import plot_steps_and_seconds

    runs = {"A2C": fake_run(pg.Config(), [(2000, 0.5, 40.0), (4000, 1.0, 490.0)], solved=(4000, 1.0)),
            "A3C, 2 threads": fake_run(a3c.Config(), [(2000, 1.5, 100.0), (4000, 3.0, 300.0)])}
    fig = plot_steps_and_seconds(runs)
    by_steps, by_seconds = fig.axes
    assert by_steps.get_legend() is None and by_seconds.get_legend() is None      # no box over the curves
    assert len(fig.legends) == 1
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.startswith("A2C") for t in texts) and any(t.startswith("A3C, 2 threads") for t in texts)
    fig.canvas.draw()
    legend_box = fig.legends[0].get_window_extent()
    for ax in fig.axes:                                                           # the legend is under the axes
        assert legend_box.y1 <= ax.get_window_extent().y0
    assert by_steps.get_xlabel() == "env steps" and by_seconds.get_xlabel().startswith("seconds")


@pytest.mark.parametrize("runs", [[], {}, "A2C"])
def test_plot_steps_and_seconds_rejects_anything_but_a_dict_of_runs(runs):
    from rlteach.plotting.a3c import plot_steps_and_seconds

    with pytest.raises(TypeError, match="runs"):
        plot_steps_and_seconds(runs)


def test_label_points_keeps_labels_of_close_points_apart():
    from rlteach.plotting.impala import label_points

    fig, ax = plt.subplots(figsize=(8, 4.2))
    points = {"2 actors": (4.9, 10_000.0), "4 actors": (5.2, 9_700.0), "4 actors, queue 32": (5.4, 9_900.0),
              "1 actor": (0.8, 9_000.0)}
    for x, y in points.values():
        ax.plot([x], [y], "o", ms=9)
    ax.set_xlim(0, 17)
    ax.set_ylim(0, 45_000)
    notes = label_points(ax, points)
    assert [n.get_text() for n in notes] == list(points)
    fig.canvas.draw()
    boxes = [n.get_window_extent() for n in notes]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (notes[i].get_text(), notes[j].get_text())
    frame = ax.get_window_extent()
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 for b in boxes)


def test_plot_throughput_lag_labels_do_not_overlap_for_neighbouring_runs():
    from rlteach.plotting import plot_throughput_lag

    def run(lag, end_scale):
        timeline = [Span(w, s, e * end_scale, 80) for w, s, e in [(0, 0.0, 0.1), (1, 0.0, 0.2), (0, 0.1, 0.3),
                                                                  (1, 0.2, 0.4), (0, 0.3, 0.5)]]
        return TrainResult(config=impala.Config(), records={"timeline": timeline, "policy_lag": [lag]})

    fig = plot_throughput_lag({"2 actors": run(4.9, 1.0), "4 actors": run(5.3, 1.03)}, baseline=4000.0)
    fig.canvas.draw()
    ax = fig.axes[0]
    first, second = (t.get_window_extent() for t in ax.texts[:2])
    assert [t.get_text() for t in ax.texts] == ["2 actors", "4 actors", "no learning: 4,000 steps/s"]
    assert not first.overlaps(second)


def test_plot_lag_legend_sits_above_the_histogram_bars():
    # notebook 05, section 2: the histogram's legend covered the bars of a bell-shaped lag
    from rlteach import impala
    from rlteach.monitor import TrainResult
    from rlteach.plotting import plot_lag

    lags = [1] * 5 + [2] * 20 + [3] * 40 + [4] * 50 + [5] * 40 + [6] * 5
    for count in (1, 3):
        runs = {f"run {k}, a long label like the notebook's (mean 3.7)": TrainResult(
            config=impala.Config(), records={"timeline": [], "policy_lag": lags, "rho_mean": [1.0],
                                             "queue": [(0.1, 2)]}) for k in range(count)}
        fig = plot_lag(runs)
        fig.canvas.draw()
        hist = fig.axes[0]
        legend = hist.get_legend().get_window_extent()
        tallest = max(p.get_data()[0].max() for p in hist.patches)
        bar_top = hist.transData.transform((0, tallest))[1]
        assert legend.y0 >= bar_top, f"{count} run(s): the legend reaches down to the bars"
        plt.close(fig)


def test_plot_cliff_paths_draws_each_path_on_the_grid_and_marks_one_that_never_arrives():
    from rlteach.plotting import plot_cliff_paths

    edge = [36, 24] + list(range(25, 36)) + [47]                  # up, 11 right, down: the optimal path
    stuck = [36, 24, 12, 0] + [0] * 97                             # up until the wall, then up forever
    fig = plot_cliff_paths({"V-trace": edge, "no correction": stuck})
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_xdata() - lines[0].get_xdata()[0], [0, 0] + list(range(1, 12)) + [11])
    assert [m for m in ax.get_lines() if m.get_marker() == "x"][0].get_color() == lines[1].get_color()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["V-trace: 13 steps", "no correction: 100 steps, never reaches G"]
    assert len(ax.patches) == 10                                   # the cliff's cells
    plt.close(fig)


def test_plot_correction_scores_draws_every_seed_and_the_median():
    from rlteach.plotting import plot_correction_scores

    panels = {"cliff": {"vtrace": [-13, -13, -15], "none": [-100, -100, -100]}, "cartpole": {"vtrace": [200, 400]}}
    fig = plot_correction_scores(panels, threshold={"cliff": -13})
    cliff, cartpole = fig.axes
    dots = [line for line in cliff.get_lines() if line.get_marker() == "o"]
    assert [list(d.get_ydata()) for d in dots] == [[-13, -13, -15], [-100, -100, -100]]
    medians = [line.get_ydata()[0] for line in cliff.get_lines() if line.get_marker() in ("None", "")
               and line.get_linestyle() == "-"]
    assert medians == [-13, -100]
    assert [t.get_text() for t in cliff.get_xticklabels()] == ["vtrace", "none"]
    assert cartpole.get_legend() is None and cliff.get_legend() is not None
    plt.close(fig)


def test_plot_worker_scaling_draws_time_and_steps_against_workers_on_a_log2_axis():
    from rlteach.plotting import plot_worker_scaling

    runs = [{"workers": k, "seed": s, "seconds_to_solve": 20.0 / k + s, "steps_to_solve": 10_000 + 1000 * k}
            for k in (1, 2, 4, 8) for s in range(3)]
    runs.append({"workers": 8, "seed": 3, "seconds_to_solve": None, "steps_to_solve": None})   # one unsolved
    fig = plot_worker_scaling(runs, paper_speedup={1: 1.0, 2: 2.1, 4: 3.7, 8: 6.9, 16: 12.5}, unit="actors")
    by_seconds, by_steps = fig.axes
    for ax in (by_seconds, by_steps):
        assert ax.get_xscale() == "log" and ax.get_xlabel() == "actors"
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4", "8"]
    median = next(line for line in by_seconds.get_lines() if line.get_label() == "median")
    # the median at 8 ranks the unsolved run above every solved one: seeds 0, 1, 2 and unsolved -> 3.5 + 2.5
    np.testing.assert_allclose(median.get_ydata(), [21.0, 11.0, 6.0, 20.0 / 8 + 1.5])
    paper = next(line for line in by_seconds.get_lines() if line.get_label().startswith("paper"))
    np.testing.assert_allclose(paper.get_ydata(), 21.0 / np.array([1.0, 2.1, 3.7, 6.9]))
    steps = next(line for line in by_steps.get_lines() if line.get_label() == "median")
    np.testing.assert_allclose(steps.get_ydata(), [11_000, 12_000, 14_000, 18_000])
    assert any("1 unsolved" in t.get_text() for t in by_seconds.texts)
