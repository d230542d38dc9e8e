"""Learning-curve plotting: the numbers behind the band, and what is drawn."""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba

from rlteach import policy_gradient as pg
from rlteach.monitor import TrainResult
from rlteach.plotting import curve_band, plot_learning_curves
from rlteach.timeline import A3CUpdate, Span, steady_steps_per_second


@pytest.fixture(autouse=True)
def close_figures():
    """Every plot returns a new pyplot figure: close them after each test."""
    yield
    plt.close("all")


def fake(evals, solved=None):
    r = TrainResult(config=pg.Config(), evals=evals, episode_returns=[5.0, 9.0], episode_steps=[300, 900],
                    episode_seconds=[0.3, 0.9])
    if solved:
        r.solved_at_steps, r.solved_at_seconds = solved
    return r


def test_curve_band_holds_each_run_between_and_after_evaluations():
    a = fake([(1000, 1.0, 10.0), (2000, 2.0, 30.0)])
    b = fake([(1000, 1.5, 20.0)])  # stopped early: its last evaluation is carried forward
    grid, mean, low, high = curve_band([a, b], "steps", num_points=5)   # grid 0, 500, 1000, 1500, 2000
    np.testing.assert_allclose(grid, [0, 500, 1000, 1500, 2000])
    assert np.isnan(mean[:2]).all() and np.isnan(low[:2]).all()          # before any evaluation
    np.testing.assert_allclose(mean[2:], [15.0, 15.0, 25.0])
    np.testing.assert_allclose(low[2:], [10.0, 10.0, 20.0])
    np.testing.assert_allclose(high[2:], [20.0, 20.0, 30.0])
    grid_s, mean_s, *_ = curve_band([a, b], "seconds", num_points=3)  # 0, 1, 2 seconds
    np.testing.assert_allclose(mean_s[1:], [10.0, 25.0])
    with pytest.raises(ValueError, match="x='minutes'"):
        curve_band([a], "minutes")


def test_band_never_leaves_the_seeds_own_returns_nor_the_envs_range():
    """Seeds that cluster at CartPole's maximum, 500, with one straggler: a mean +- std band went above 500. The
    band spans the lowest to the highest curve, inside [min, max] of the data and so inside [0, 500]."""
    rng = np.random.default_rng(0)
    runs = [fake([(1000 * (i + 1), float(i), y) for i, y in enumerate(ys)])
            for ys in ([500.0, 500.0, 500.0], [120.0, 500.0, 500.0], [9.0, 260.0, 500.0, 500.0],
                       rng.uniform(0, 500, size=12).tolist())]
    grid, mean, low, high = curve_band(runs, "steps", num_points=97)
    returns = np.concatenate([[e[2] for e in r.evals] for r in runs])
    seen = ~np.isnan(mean)
    assert seen.sum() > 80
    assert (low[seen] <= mean[seen] + 1e-12).all() and (mean[seen] <= high[seen] + 1e-12).all()
    assert returns.min() <= low[seen].min() and high[seen].max() <= returns.max() <= 500.0
    brute = np.array([[r.evals[np.searchsorted([e[0] for e in r.evals], g, "right") - 1][2]
                       if g >= r.evals[0][0] else np.nan for g in grid] for r in runs])   # each run held, by hand
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(low, np.nanmin(brute, 0))
        np.testing.assert_allclose(high, np.nanmax(brute, 0))
    ax = plot_learning_curves(runs).axes[0]
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    ys = np.concatenate([path.vertices[:, 1] for path in band.get_paths()])
    assert 0.0 <= ys.min() and ys.max() <= 500.0
    assert "shaded: lowest to highest seed" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_plot_learning_curves_draws_band_threshold_and_solved_marks():
    runs = [fake([(1000, 1.0, 100.0), (2000, 2.0, 480.0)], solved=(2000, 2.0)), fake([(1000, 1.0, 200.0)])]
    fig = plot_learning_curves(runs)
    ax = fig.axes[0]
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert "a2c (eval, 2 seeds)" in labels and "solved (475)" in labels
    assert any(isinstance(c, PolyCollection) for c in ax.collections)          # the lowest-to-highest band
    star = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert len(star) == 1 and star[0].get_xdata()[0] == 2000


def test_single_run_shows_its_training_episodes_and_dicts_compare_settings():
    fig = plot_learning_curves(fake([(1000, 1.0, 50.0)]), x="seconds")
    episodes = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "training episodes"]
    np.testing.assert_allclose(episodes[0].get_xdata(), [0.3, 0.9])
    fig = plot_learning_curves({"lr=1e-3": [fake([(1000, 1.0, 50.0)])], "lr=1e-4": fake([(1000, 1.0, 20.0)])})
    assert {"lr=1e-3 (eval, 1 seed)", "lr=1e-4 (eval, 1 seed)"} <= {ln.get_label() for ln in fig.axes[0].get_lines()}


def test_a_curve_of_one_evaluation_is_drawn_as_a_dot_and_longer_ones_as_lines():
    one = [ln for ln in plot_learning_curves(fake([(1000, 1.0, 50.0)])).axes[0].get_lines() if "eval" in ln.get_label()]
    two = [ln for ln in plot_learning_curves(fake([(1000, 1.0, 50.0), (2000, 2.0, 80.0)])).axes[0].get_lines()
           if "eval" in ln.get_label()]
    assert one[0].get_marker() == "o" and two[0].get_marker() in ("None", "", None)



def test_a_seed_that_stopped_early_is_held_and_that_part_of_the_mean_is_dotted_and_named():
    """A seed that solved stops; curve_band carries its last evaluation to the end of the longest seed. That part
    of the mean used to be drawn like the rest, silently: it is dotted from where the first seed stopped, and the
    legend says why."""
    from rlteach.plotting.a3c import plot_steps_and_seconds
    from rlteach.plotting.core import HELD_LABEL, held_from

    solved = fake([(1000, 1.0, 100.0), (2000, 2.0, 480.0)], solved=(2000, 2.0))      # stopped at 2000 steps
    longer = fake([(1000, 1.5, 50.0), (2000, 3.0, 200.0), (3000, 4.5, 300.0), (4000, 6.0, 400.0)])
    assert held_from([solved, longer], "steps") == 2000 and held_from([solved, longer], "seconds") == 2.0
    assert held_from([longer, longer], "steps") is None and held_from([solved], "seconds") is None
    for x, stop in (("steps", 2000), ("seconds", 2.0)):
        ax = plot_learning_curves([solved, longer], x=x).axes[0]
        grid, mean, *_ = curve_band([solved, longer], x)
        (solid,) = [ln for ln in ax.get_lines() if ln.get_label() == "a2c (eval, 2 seeds)"]
        (dotted,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
        assert solid.get_linestyle() == "-" and solid.get_xdata().max() <= stop           # every seed running
        assert dotted.get_color() == solid.get_color() and dotted.get_label() == HELD_LABEL
        assert dotted.get_xdata().min() <= stop and dotted.get_xdata().max() == grid[-1]   # to the axis' end
        drawn = np.concatenate([solid.get_xdata(), dotted.get_xdata()[1:]])                # the whole mean, once
        np.testing.assert_allclose(drawn, grid)
        np.testing.assert_allclose(dotted.get_ydata(), mean[-len(dotted.get_ydata()):])
        assert HELD_LABEL in [t.get_text() for t in ax.get_legend().get_texts()]
    ax = plot_learning_curves([longer, fake(longer.evals)]).axes[0]            # seeds that end together: none held
    assert not [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    assert HELD_LABEL not in [t.get_text() for t in ax.get_legend().get_texts()]
    same_steps = fake([(1000, 1.0, 100.0), (2000, 2.0, 480.0)])                # equal steps, different seconds:
    fig = plot_steps_and_seconds({"a2c": [fake(same_steps.evals), fake([(1000, 2.0, 90.0), (2000, 5.0, 300.0)])]})
    assert HELD_LABEL in [t.get_text() for t in fig.legends[0].get_texts()]   # only the seconds panel holds one


def test_throughput_numbers_sit_clear_above_every_black_line_and_inside_the_axes():
    """Notebook 00's bar chart: each mean's number was drawn 2 points above its own black line (the spread of the
    repeats), touching its cap, and with many bars it ran into the neighbours' lines and numbers."""
    from rlteach.plotting import plot_throughput
    from rlteach.plotting.core import _LABEL_GAP_PT
    from rlteach.throughput import Measurement

    rng = np.random.default_rng(0)
    for sizes in ((1, 2, 4), (1, 2, 3, 4, 8)):
        ms = [Measurement("single", 1, 1000, 0.1 * rng.uniform(0.9, 1.1), repeat=r) for r in range(3)]
        ms += [Measurement(mode, n, 1000, 1 / (base * (1 + np.log2(n) / 2) * rng.uniform(0.6, 1.4)), repeat=r)
               for r in range(3) for mode, base in (("sync", 7.0), ("async", 3.0), ("processes", 11.0)) for n in sizes]
        fig = plot_throughput(ms)
        ax = fig.axes[0]
        renderer = fig.canvas.get_renderer()
        point = fig.dpi / 72
        numbers = [t.get_window_extent(renderer) for t in ax.texts]
        lines = [ax.transData.transform(seg) for c in ax.collections for seg in c.get_segments()]   # vertical
        assert len(numbers) == len(lines) == len(ms) // 3
        frame = ax.get_window_extent(renderer)
        for box, own in zip(numbers, lines, strict=True):                       # drawn in the same order
            assert box.y0 >= own[:, 1].max() + 3 * point and box.y0 >= own[:, 1].max() + _LABEL_GAP_PT * point - 0.5
            assert frame.y0 <= box.y0 and box.y1 <= frame.y1 and frame.x0 <= box.x0 and box.x1 <= frame.x1
            for seg in lines:                                   # no black line within 2 points of the number
                near_x = box.x0 - 2 * point <= seg[0, 0] <= box.x1 + 2 * point
                assert not (near_x and seg[:, 1].min() <= box.y1 and seg[:, 1].max() >= box.y0 - 2 * point), sizes
        for i, a in enumerate(numbers):                        # nor two numbers on each other
            assert not any(a.overlaps(b) for b in numbers[i + 1:]), sizes
        plt.close(fig)

# --- 03 A3C: the worker timeline and the staleness histogram ---------------------------------------------


def fake_a3c(timeline, backend="thread", num_workers=2):
    from rlteach import a3c

    config = a3c.Config(backend=backend, num_workers=num_workers)
    return TrainResult(config=config, records={"timeline": timeline, "staleness": [row.staleness for row in timeline]})


TIMELINE = [  # who, start (the copy), end (the apply), env_steps, t_rolled_out, t_computed, staleness
    A3CUpdate(0, 0.00, 0.13, 20, 0.10, 0.12, 0),
    A3CUpdate(1, 0.05, 0.20, 20, 0.16, 0.18, 1),
    A3CUpdate(0, 0.13, 0.28, 20, 0.25, 0.27, 1),
    A3CUpdate(1, 0.20, 0.35, 17, 0.30, 0.33, 1),
    A3CUpdate(0, 0.28, 0.43, 20, 0.40, 0.41, 1),
    A3CUpdate(1, 0.35, 0.50, 20, 0.47, 0.49, 1),
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
    phases = [("start", "t_rolled_out"), ("t_rolled_out", "t_computed"), ("t_computed", "end")]
    for y in (0, 1):
        mine = [row for row in TIMELINE if row.who == y]
        for k, (start, stop) in enumerate(phases):
            drawn = np.array(bars(ax.collections[3 * y + k]))
            begins = np.array([getattr(row, start) for row in mine])
            np.testing.assert_allclose(drawn[:, 0], begins)
            np.testing.assert_allclose(drawn[:, 1], np.array([getattr(row, stop) for row in mine]) - begins)
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
    other = fake_a3c([A3CUpdate(0, 0, 0, 20, 0, 0, s) for s in (0, 3, 3, 2)], backend="process", num_workers=4)
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


# --- 04 Ape-X: the sum-tree, priorities and weights, the epsilon ladder -----------------------------------


def node_texts(ax):
    """{k: text artist} of the nodes plot_sum_tree drew (gid "node k")."""
    return {int(t.get_gid().split()[1]): t for t in ax.texts if (t.get_gid() or "").startswith("node ")}


def test_plot_sum_tree_shows_every_nodes_sum_and_the_path_find_walks():
    from rlteach.plotting import plot_sum_tree, sum_tree_walk
    from rlteach.replay import SumTree

    values = [3.0, 1.0, 0.5, 6.0, 2.0, 0.5, 4.0, 1.0]
    tree = SumTree(8)
    tree.update(np.arange(8), values)
    fig = plot_sum_tree(tree, mass=11.3)
    nodes = node_texts(fig.axes[0])
    assert sorted(nodes) == list(range(1, 16))                     # 7 internal nodes and 8 leaves
    assert {k: float(t.get_text()) for k, t in nodes.items()} == {k: tree.tree[k] for k in range(1, 16)}
    assert nodes[1].get_text() == "18" and [nodes[8 + i].get_text() for i in (0, 3)] == ["3", "6"]
    red = {k for k, t in nodes.items() if t.get_bbox_patch().get_edgecolor() == to_rgba("tab:red")}
    walk = sum_tree_walk(tree, 11.3)
    assert red == {node for node, _, _ in walk} == {1, 3, 6, 12}           # right, left, left: leaf 4
    assert walk[-1][0] - 8 == tree.find(11.3) == 4
    np.testing.assert_allclose([u for _, u, _ in walk], [11.3, 0.8, 0.8, 0.8])     # u: the mass left over
    assert sorted(t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("u=")) == \
        ["u=0.8", "u=0.8", "u=0.8", "u=11.3"]
    assert [right for _, _, right in walk] == [True, False, False, None]
    assert "leaf 4" in fig.axes[0].get_title()
    for mass in np.linspace(0, tree.total, 37):                     # the walk always ends where find does
        assert sum_tree_walk(tree, mass)[-1][0] - 8 == tree.find(mass)


def test_plot_sum_tree_from_values_pads_to_a_power_of_two():
    from rlteach.plotting import plot_sum_tree

    fig = plot_sum_tree([3, 1, 0.5, 6, 2])                         # 5 leaves -> 8, three of them padding
    nodes = node_texts(fig.axes[0])
    assert nodes[1].get_text() == "12.5" and nodes[3].get_text() == "2"
    assert sum(t.get_text() == "pad" for t in fig.axes[0].texts) == 3
    assert not any(t.get_bbox_patch().get_linewidth() == 2 for t in nodes.values())   # no mass: no path


def test_priority_table_and_plot_priorities_follow_the_formulas():
    from rlteach.plotting import plot_priorities, priority_table

    td = np.array([-2.0, 0.5, 0.0, 1.0])
    t = priority_table(td, alpha=0.5, beta=0.4, eps=0.01)
    p = np.abs(td) + 0.01
    P = np.sqrt(p) / np.sqrt(p).sum()
    w = (4 * P) ** -0.4
    np.testing.assert_allclose(t["P"], P)
    np.testing.assert_allclose(t["w"], w / w.max())
    np.testing.assert_allclose(t["share"], P * w / (P * w).sum())
    fig = plot_priorities(td, alpha=0.5, beta=0.4, eps=0.01, top=1)
    heights = [[b.get_height() for b in ax.containers[0]] for ax in fig.axes]
    np.testing.assert_allclose(heights, [t["P"], t["w"], t["share"]])
    colors = [b.get_facecolor() for b in fig.axes[0].containers[0]]
    assert colors[0] != colors[1] and colors[1] == colors[2] == colors[3]      # the top-1 |delta| is red
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["2", "0.5", "0", "1"]
    # beta = 1 undoes the sampling bias completely: every transition's share is 1/N; alpha = 0 is uniform
    np.testing.assert_allclose(priority_table(td, 0.7, 1.0)["share"], 0.25)
    np.testing.assert_allclose(priority_table(td, 0.0, 0.4)["w"], 1.0)


def test_plot_epsilon_ladder_draws_the_ladder_and_each_actors_returns():
    from rlteach import apex
    from rlteach.plotting import plot_epsilon_ladder

    eps = apex.epsilon_ladder(8)
    fig = plot_epsilon_ladder(eps)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    np.testing.assert_allclose(ax.collections[0].get_offsets(), np.c_[np.arange(8), eps])
    rows = [(0, 100, 10.0), (1, 150, 50.0), (0, 200, 20.0), (0, 300, 60.0), (1, 320, 150.0), (2, 400, 9.0)]
    result = TrainResult(config=apex.Config(num_actors=3), records={"epsilons": apex.epsilon_ladder(3).tolist(),
                                                                    "actor_returns": rows})
    fig = plot_epsilon_ladder(result, smooth=2)
    ladder, returns = fig.axes
    np.testing.assert_allclose(ladder.collections[0].get_offsets()[:, 1], [0.4, 0.4**4.5, 0.4**8])
    lines = returns.get_lines()
    dots, means = lines[0::2], lines[1::2]
    np.testing.assert_allclose(dots[0].get_xdata(), [100, 200, 300])
    np.testing.assert_allclose(dots[0].get_ydata(), [10, 20, 60])
    np.testing.assert_allclose(means[0].get_ydata(), [10, 15, 40])            # the mean of the last 2
    np.testing.assert_allclose(means[1].get_ydata(), [50, 100])
    assert [ln.get_label() for ln in means] == ["actor 0 (ε = 0.4)", "actor 1 (ε = 0.016)", "actor 2 (ε = 0.00066)"]
    assert dots[0].get_color() == means[0].get_color() != means[1].get_color()


# --- 05 IMPALA: the actor/learner timeline, the lag and the queue, V-trace, throughput against lag ------------


def fake_impala(timeline=(), policy_lag=(), rho_mean=(), queue=(), **config):
    from rlteach import impala

    records = {"timeline": list(timeline), "policy_lag": list(policy_lag), "rho_mean": list(rho_mean),
               "queue": list(queue)}
    return TrainResult(config=impala.Config(**config), records=records)


IMPALA_TIMELINE = [Span(*row) for row in [  # who (actor index, LEARNER = -1), start, end, env_steps
    (0, 0.00, 0.10, 80), (1, 0.02, 0.12, 80), (0, 0.11, 0.20, 80), (-1, 0.12, 0.15, 0), (1, 0.13, 0.22, 80),
    (-1, 0.22, 0.25, 0), (0, 0.21, 0.30, 80),
]]


def test_plot_actor_learner_timeline_draws_each_unroll_and_update_in_its_row():
    from rlteach.plotting import plot_actor_learner_timeline

    fig = plot_actor_learner_timeline(fake_impala(IMPALA_TIMELINE))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["actor 0", "actor 1", "learner"]
    rows = np.array(IMPALA_TIMELINE)
    for y, who in enumerate((0, 1, -1)):
        mine = rows[rows[:, 0] == who]
        drawn = np.array(bars(ax.collections[y]))
        np.testing.assert_allclose(drawn[:, 0], mine[:, 1])
        np.testing.assert_allclose(drawn[:, 1], mine[:, 2] - mine[:, 1])
        np.testing.assert_allclose(drawn[:, 2:], [[y - 0.35, y + 0.35]] * len(mine))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["actor unroll", "learner update"]
    assert "thread backend: 2 actors; 5 unrolls and 2 updates shown" in ax.get_title()
    fig = plot_actor_learner_timeline(fake_impala(IMPALA_TIMELINE), max_seconds=0.05)   # from 0.02, actor 1's start
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.get_xlim(), (0.02, 0.07))
    assert [len(c.get_paths()) for c in ax.collections] == [1, 1, 0]
    assert "2 unrolls and 0 updates shown" in ax.get_title()


def test_plot_lag_draws_the_histogram_the_lag_per_update_the_queue_and_rho():
    from rlteach.plotting import lag_per_update, plot_lag

    one = fake_impala(policy_lag=[0, 1, 1, 3, 2, 2], rho_mean=[1.0, 0.98, 1.03], queue=[(0.1, 2), (0.2, 5), (0.3, 4)])
    np.testing.assert_allclose(lag_per_update(one), [0.5, 2.0, 2.0])            # batch_size 2: pairs
    fig = plot_lag(one)
    hist, over_time, queue = fig.axes
    (stairs,) = hist.patches
    values, edges, _ = stairs.get_data()
    np.testing.assert_allclose(values, np.array([1, 2, 2, 1]) / 6)
    np.testing.assert_allclose(edges, [-0.5, 0.5, 1.5, 2.5, 3.5])
    assert hist.get_legend().get_texts()[0].get_text() == "2 actors, pull every 1, queue 8 (mean 1.5)"
    np.testing.assert_allclose(over_time.get_lines()[0].get_xydata(), [[1, 0.5], [2, 2.0], [3, 2.0]])
    np.testing.assert_allclose(queue.get_lines()[0].get_ydata(), [2, 5, 4])
    other = fake_impala(policy_lag=[5, 5], rho_mean=[1.1], queue=[(0.5, 8)], unrolls_per_weight_pull=16,
                        off_policy_correction="none")
    fig = plot_lag({"mine": one, "late": other}, rho=True)
    assert len(fig.axes) == 4
    first, second = fig.axes[0].patches
    np.testing.assert_allclose(first.get_data()[0], np.array([1, 2, 2, 1, 0, 0]) / 6)   # to the largest lag, 5
    np.testing.assert_allclose(second.get_data()[0], [0, 0, 0, 0, 0, 1])
    rho = fig.axes[3]
    np.testing.assert_allclose(rho.get_lines()[0].get_ydata(), [1.0, 0.98, 1.03])
    assert [t.get_text() for t in rho.get_legend().get_texts()] == ["mine (std 0.021)", "late (std 0.000)"]
    assert ", no correction" in plot_lag([other]).axes[0].get_legend().get_texts()[0].get_text()


def test_vtrace_table_and_plot_vtrace_show_the_weights_and_targets():
    import torch

    from rlteach import impala
    from rlteach.advantage import discounted_returns
    from rlteach.plotting import plot_vtrace, vtrace_table

    mu, pi = np.log([0.5, 0.8, 0.25]), np.log([0.75, 0.4, 0.5])
    r, d, v = [1.0, 0.0, 2.0], [0.9, 0.9, 0.0], [2.0, 1.0, 3.0]                # the episode terminates at t = 2
    t = vtrace_table(mu, pi, r, d, v, 1.0, clip_rho=1.2, clip_c=0.8)
    np.testing.assert_allclose(t["ratio"], [1.5, 0.5, 2.0])
    np.testing.assert_allclose(t["rho"], [1.2, 0.5, 1.2])
    np.testing.assert_allclose(t["c"], [0.8, 0.5, 0.8])
    np.testing.assert_allclose(t["n_step"], discounted_returns(np.array(r), np.array([1.0, 3.0, 1.0]),
                                                                np.array([False, False, True]),
                                                                np.zeros(3, bool), 0.9))
    args = [torch.as_tensor(np.asarray(x, dtype=float)) for x in (mu, pi, r, d, v, 1.0)]
    np.testing.assert_allclose(t["vs"], impala.vtrace(*args, 1.2, 0.8, 1.2).vs.numpy())
    np.testing.assert_allclose(t["vs_unclipped"], impala.vtrace(*args, None, None, None).vs.numpy())
    fig = plot_vtrace(t)
    left, right = fig.axes
    np.testing.assert_allclose([b.get_height() for b in left.containers[0]], t["ratio"])
    lines = {ln.get_label(): ln.get_ydata() for ln in left.get_lines()}
    np.testing.assert_allclose(lines["rho_t = min(rho-bar, pi/mu)"], t["rho"])
    np.testing.assert_allclose(lines["c_t = min(c-bar, pi/mu)"], t["c"])
    assert {"rho-bar = 1.2", "c-bar = 0.8"} <= set(lines) and left.get_yscale() == "log"
    lines = {ln.get_label(): ln.get_ydata() for ln in right.get_lines()}
    for label, key in (("critic V(x_t)", "values"), ("n-step return (no correction)", "n_step"),
                       ("v_s, V-trace", "vs"), ("v_s, no clipping", "vs_unclipped")):
        np.testing.assert_allclose(lines[label], t[key])
    on_policy = vtrace_table(mu, mu, r, d, v, 1.0)                               # pi = mu: v_s is the n-step return
    np.testing.assert_allclose(on_policy["vs"], on_policy["n_step"])
    np.testing.assert_allclose(on_policy["vs_unclipped"], on_policy["n_step"])


def test_plot_throughput_lag_puts_each_run_at_its_mean_lag_and_steady_rate():
    from rlteach.plotting import plot_throughput_lag, throughput_and_lag

    timeline = [Span(w, s, e, 20 * 4) for w, s, e in [(0, 0.0, 0.1), (1, 0.0, 0.2), (0, 0.1, 0.3), (1, 0.2, 0.4),
                                                       (0, 0.3, 0.5)]]
    fast = fake_impala(timeline, policy_lag=[1, 2, 3])
    slow = fake_impala([row._replace(end=2 * row.end) for row in timeline], policy_lag=[10, 10], num_actors=2,
                       max_queue=64)
    rate = steady_steps_per_second(fast.records["timeline"])
    assert rate == pytest.approx(3 * 20 * 4 / (0.5 - 0.2))                       # after both actors delivered once
    points = throughput_and_lag({"fast": fast, "slow": slow})
    assert points == {"fast": (2.0, pytest.approx(rate)), "slow": (10.0, pytest.approx(rate / 2))}
    fig = plot_throughput_lag({"fast": fast, "slow": slow}, baseline=5000.0)
    ax = fig.axes[0]
    dots = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    np.testing.assert_allclose([ln.get_xydata()[0] for ln in dots], [[2.0, rate], [10.0, rate / 2]])
    assert [ln.get_label() for ln in dots] == ["fast", "slow"]
    baseline = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert baseline[0].get_ydata()[0] == 5000.0 and "5,000 steps/s" in baseline[0].get_label()
    assert [t.get_text() for t in ax.texts] == ["fast", "slow", "no learning: 5,000 steps/s"]
    labels = throughput_and_lag([slow])
    assert list(labels) == ["2 actors, pull every 1, queue 64"]


def test_the_solved_star_sits_on_the_evaluation_that_solved_it_not_on_the_last_one():
    run = fake([(2000, 1.0, 100.0), (4000, 2.0, 480.0), (6000, 3.0, 300.0)], solved=(4000, 2.0))
    for x, expected_x in (("steps", 4000), ("seconds", 2.0)):
        ax = plot_learning_curves(run, x=x).axes[0]
        stars = [ln for ln in ax.lines if ln.get_marker() == "*"]
        assert len(stars) == 1 and stars[0].get_xdata()[0] == expected_x and stars[0].get_ydata()[0] == 480.0
        assert "★ the evaluation that solved it" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_stars_of_runs_solved_at_the_same_point_stay_visible_one_inside_the_other():
    evals = [(2000, 1.0, 100.0), (4000, 2.0, 480.0)]
    runs = {label: fake(evals, solved=(4000, 2.0)) for label in ("a", "b", "c")}
    ax = plot_learning_curves(runs).axes[0]
    stars = [ln for ln in ax.lines if ln.get_marker() == "*"]
    assert [(ln.get_xdata()[0], ln.get_ydata()[0]) for ln in stars] == [(4000, 480.0)] * 3   # the same point
    sizes, layers = [ln.get_markersize() for ln in stars], [ln.get_zorder() for ln in stars]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 3     # each smaller than the one before
    assert layers == sorted(layers) and len(set(layers)) == 3                # and drawn above it


def test_panels_that_share_y_get_the_same_headroom_not_a_compounded_one():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, sharey=True)
    for ax in axes:
        plot_learning_curves(fake([(2000, 1.0, 100.0), (4000, 2.0, 480.0)]), ax=ax)
    top = axes[0].get_ylim()[1]
    assert all(ax.get_ylim()[1] == top for ax in axes) and 500 < top < 800, f"y reaches {top}"
    plt.close(fig)


def test_a_run_without_evaluations_gets_no_eval_legend_entry_without_a_line():
    # notebook 04, section 0: a run with eval_every=None showed "eval" in the legend and no line for it
    ax = plot_learning_curves(fake([])).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["training episodes", "solved (475)"]
    assert all(len(line.get_xdata()) > 0 for line in ax.get_lines())
    plt.close(ax.figure)
