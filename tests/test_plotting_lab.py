"""plotting.lab.plot_sync_timeline: the waits of a synchronous run drawn over plot_timeline's bars."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
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
