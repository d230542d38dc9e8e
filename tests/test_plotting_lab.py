"""plotting.lab.plot_sync_timeline: the waits of a synchronous run drawn over plot_timeline's bars."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rlteach.plotting.lab import plot_sync_timeline  # noqa: E402
from rlteach.timeline import A3CUpdate, round_waits  # noqa: E402


def fake_run(sync=True):
    # worker 0 takes 1 s per cycle, worker 1 3 s: worker 0 waits 2 s in each pull after the first
    rows = [A3CUpdate(0, 0.0, 1.0, 5, 0.5, 0.8, 0), A3CUpdate(1, 0.0, 3.0, 5, 2.0, 2.5, 0),
            A3CUpdate(0, 1.0, 4.0, 5, 3.5, 3.8, 0), A3CUpdate(1, 3.0, 6.0, 5, 5.0, 5.5, 0),
            A3CUpdate(0, 4.0, 7.0, 5, 6.5, 6.8, 0), A3CUpdate(1, 6.0, 9.0, 5, 8.0, 8.5, 0)]
    config = SimpleNamespace(sync=sync, backend="ray", num_workers=2, env_id="CartPole-v1")
    return SimpleNamespace(config=config, records={"timeline": rows})


def test_sync_timeline_draws_each_wait_as_a_hatched_bar():
    run = fake_run()
    assert round_waits(run.records["timeline"]) == pytest.approx([0, 0, 2, 0, 2, 0])
    fig = plot_sync_timeline(run)
    ax = fig.axes[0]
    hatched = [c for c in ax.collections if c.get_hatch()]
    assert len(hatched) == 1                                   # only worker 0 waited
    boxes = [(path.get_extents().x0, path.get_extents().width) for path in hatched[0].get_paths()]
    assert sorted(round(x, 6) for x, _ in boxes) == [1.0, 4.0]
    assert all(w == pytest.approx(2.0) for _, w in boxes)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "waiting for the round (in the pull)" in labels and "rollout" in labels
    plt.close(fig)


def test_sync_timeline_refuses_an_asynchronous_run():
    with pytest.raises(ValueError, match="sync"):
        plot_sync_timeline(fake_run(sync=False))


def test_field_map_draws_every_box_and_every_system():
    from rlteach.plotting.side_by_side import FIELD, PIPELINE, plot_field_map

    fig = plot_field_map()
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert all(box in texts for box in PIPELINE)
    assert all(system in texts for systems in FIELD.values() for system in systems)
    assert set(FIELD) == set(PIPELINE)
    plt.close(fig)


def test_learning_curves_legend_covers_no_curve():
    # notebook 06, section 4's right panel: one run early on the left, two late on the right, the lower right
    # corner taken by a dip of the last one: the legend must find the empty middle, not the corner
    from rlteach import policy_gradient as pg
    from rlteach.monitor import TrainResult
    from rlteach.plotting import plot_learning_curves

    def run(points):
        return TrainResult(config=pg.Config(), evals=[(1000 * (i + 1), s, r) for i, (s, r) in enumerate(points)])

    runs = {"threads": run([(0.5, 200), (1.5, 380), (2.5, 150)]),
            "async": run([(17.5, 350), (18.5, 230), (19.0, 100), (19.5, 100), (19.8, 500)]),
            "sync": run([(17.8, 250), (18.3, 500)])}
    fig = plot_learning_curves(runs, x="seconds")
    ax = fig.axes[0]
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent()
    for line in ax.get_lines():
        if line.get_label().startswith("solved"):
            continue                                         # the threshold spans the whole width
        path = line.get_transform().transform_path(line.get_path())
        assert not path.intersects_bbox(box, filled=False), f"the legend covers {line.get_label()}"
    plt.close(fig)


def test_side_by_side_labels_every_x_axis():
    # notebook 07, section 2: each column's unit on its x-axis, not only in the titles
    import json
    from pathlib import Path

    from rlteach.plotting import plot_side_by_side

    bench = json.loads((Path(__file__).parents[1] / "benchmarks" / "results" / "side_by_side.json").read_text())
    fig = plot_side_by_side([r for r in bench["runs"] if r["workload"] == "cartpole"])
    assert len(fig.axes) == 3 and all(ax.get_xlabel() for ax in fig.axes)
    plt.close(fig)


def test_step_costs_tick_labels_do_not_overlap_and_every_bar_says_its_number():
    # notebook 06, section 1: long names on both panels (the right panel's were squeezed under vertical bars)
    from rlteach.plotting import plot_step_costs

    costs = {"CartPole env step": 9e-6, "small MLP forward, 1 obs": 5e-5,
             "message round trip to 2 env subprocesses": 3e-4}
    rates = {"1 env, 1 forward per step": 15_000, "8 envs, 1 batched forward (sync)": 48_000,
             "2 envs in 2 subprocesses (async)": 4_800, "2 actor processes": 29_000}
    def overlap(labels, renderer):
        boxes = [t.get_window_extent(renderer) for t in labels if t.get_text() and t.get_visible()]
        return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])

    for scale in (1, 15):               # costs over 1.5 decades, and over less than one (a slow, busy machine)
        fig = plot_step_costs({k: v * scale if k != "CartPole env step" else v * scale * 10
                               for k, v in costs.items()} if scale > 1 else costs, rates)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax, values in zip(fig.axes, (costs, rates), strict=True):
            labels = [t for t in ax.get_yticklabels() if t.get_text()]
            assert [t.get_text() for t in labels] == list(values)            # the first name on top
            assert not overlap(labels, renderer)
            assert not overlap(ax.get_xticklabels(which="both"), renderer)
            assert len(ax.texts) == len(values)                               # a number on every bar
        plt.close(fig)


def test_backends_draw_the_mean_of_the_repeats_and_every_repeat():
    from rlteach.plotting import plot_backends

    speed = {"thread": [8000, 9000, 10_000], "process": [30_000, 28_000, 29_000], "ray": [10_000, 11_000, 9000]}
    start = {"thread": [0.02, 0.03, 0.02], "process": [1.1, 1.2, 1.0], "ray": [3.0, 2.8, 3.2]}
    fig = plot_backends(speed, start)
    for ax, values in zip(fig.axes, (speed, start), strict=True):
        assert [p.get_height() for p in ax.patches] == pytest.approx([sum(v) / len(v) for v in values.values()])
        assert sum(len(line.get_xdata()) for line in ax.get_lines()) == sum(len(v) for v in values.values())
    plt.close(fig)


def test_server_runs_one_legend_under_the_panels_covering_no_data():
    # notebook 06, section 4: the curves' legends sat over the data (and past the panels' edges)
    from rlteach import a3c
    from rlteach.monitor import TrainResult
    from rlteach.plotting import plot_server_runs

    def run(points, staleness):
        return TrainResult(config=a3c.Config(), evals=[(1000 * (i + 1), s, r) for i, (s, r) in enumerate(points)],
                           records={"staleness": staleness})

    runs = {"Hogwild, 2 threads": run([(0.5, 200), (1.5, 500)], [0, 1, 1, 1, 2]),
            "server, async (Ray)": run([(6.0, 80), (7.0, 300), (9.0, 500)], [0, 0, 1, 1]),
            "server, sync (Ray)": run([(6.5, 250), (7.0, 500)], [0, 0, 0])}
    fig = plot_server_runs(runs)
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    for ax in fig.axes:
        assert not legend.overlaps(ax.get_window_extent()), "the legend sits on a panel"
    for ax in fig.axes[1:]:
        assert ax.get_legend() is None
        for line in ax.get_lines():                                       # every point inside the panel
            y = np.asarray(line.get_ydata(), dtype=float)
            y = y[np.isfinite(y)]
            assert y.min() >= ax.get_ylim()[0] and y.max() <= ax.get_ylim()[1]
    stale = fig.axes[0]
    box = stale.get_legend().get_window_extent()
    for bar in stale.patches:
        assert not bar.get_window_extent().overlaps(box), "the staleness legend covers a bar"
    plt.close(fig)
