"""Plots of notebook 05 (IMPALA): who did what when (each actor's unrolls and the learner's updates), the
policy lag and the queue, V-trace along one unroll (the numbers behind it: ``vtrace_table``), and the actors'
throughput against the lag."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from rlteach import impala
from rlteach.messages import N_, tr
from rlteach.timeline import LEARNER, steady_steps_per_second

# --- who did what when: each actor's unrolls, the learner's updates --------------------------------------------

ACTOR_COLOR, LEARNER_COLOR = "tab:blue", "tab:red"


def plot_actor_learner_timeline(result, max_seconds=None, start=None, ax=None):
    """One row per actor, one bar per unroll (from its first step to its last, ``t_start`` to ``t_end``), and a
    last row, "learner", with one bar per update (the loss, its gradient, the optimizer step, the publish).

    Reads ``result.records["timeline"]`` (``timeline.Span`` rows: who = an actor's index, or LEARNER).
    ``max_seconds`` shows only a window that long, from ``start`` (default: the moment the last actor began its
    first unroll); without it, the whole run. The gaps in an actor's row are the weight pull and the put into
    the queue (which waits while the queue is full). Returns the figure."""
    rows = np.array([(r.who, r.start, r.end) for r in result.records["timeline"]],    # columns 0, 1, 2
                    dtype=float).reshape(-1, 3)
    actors = sorted({int(w) for w in rows[:, 0] if w != LEARNER})
    lanes = actors + [LEARNER]
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 0.6 * len(lanes) + 1.5))
    fig = ax.figure
    if start is None:
        firsts = [rows[rows[:, 0] == a, 1].min() for a in actors]
        start = max(firsts) if max_seconds is not None and firsts else 0.0
    end = start + max_seconds if max_seconds is not None else (rows[:, 2].max() if len(rows) else 1.0)
    shown = rows[(rows[:, 2] >= start) & (rows[:, 1] <= end)]          # intervals that touch the window
    for y, who in enumerate(lanes):
        mine = shown[shown[:, 0] == who]
        color = LEARNER_COLOR if who == LEARNER else ACTOR_COLOR
        label = (tr("learner update") if who == LEARNER else tr("actor unroll")) if y in (0, len(lanes) - 1) else None
        ax.broken_barh(list(zip(mine[:, 1], mine[:, 2] - mine[:, 1], strict=True)), (y - 0.35, 0.7),
                       facecolors=color, edgecolor="white", linewidth=0.5, label=label)
    ax.set_yticks(range(len(lanes)), [tr("actor {a}", a=a) for a in actors] + [tr("learner")])
    ax.set_ylim(len(lanes) - 0.5, -0.5)                                  # actor 0 on top, the learner last
    if max_seconds is not None:
        ax.set_xlim(start, end)
    ax.set_xlabel(tr("seconds since train() started"))
    unrolls, updates = int((shown[:, 0] != LEARNER).sum()), int((shown[:, 0] == LEARNER).sum())
    ax.set_title(tr("IMPALA, {backend} backend: {actors} actors; {unrolls} unrolls and {updates} updates shown",
                    backend=getattr(result.config, "backend", "?"), actors=len(actors), unrolls=unrolls,
                    updates=updates))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return fig


# --- the policy lag, the queue and pi/mu ------------------------------------------------------------------------


# a run's label, its settings then its correction (V-trace, the default, goes unnamed); shown through tr
CORRECTION_LABELS = {"vtrace": "{settings}", "one_step_is": N_("{settings}, 1-step importance sampling"),
                     "none": N_("{settings}, no correction")}


def _label(result) -> str:
    c = result.config
    fields = {"n": c.num_actors, "pull": c.unrolls_per_weight_pull, "queue": c.max_queue}
    settings = (tr("{n} actors, pull every {pull}, queue {queue}", **fields) if c.num_actors != 1
                else tr("{n} actor, pull every {pull}, queue {queue}", **fields))
    return tr(CORRECTION_LABELS[c.off_policy_correction], settings=settings)


def _as_labelled(result_or_results) -> list:
    """A TrainResult, a list of them, or {label: result} -> [(label, result)]."""
    if isinstance(result_or_results, dict):
        return list(result_or_results.items())
    results = result_or_results if isinstance(result_or_results, list | tuple) else [result_or_results]
    return [(_label(r), r) for r in results]


def lag_per_update(result) -> np.ndarray:
    """The mean policy lag of the unrolls each update used (``policy_lag`` holds ``batch_size`` per update)."""
    lag = np.asarray(result.records["policy_lag"], dtype=float)
    b = result.config.batch_size
    return lag[: len(lag) // b * b].reshape(-1, b).mean(1)


def plot_lag(result_or_results, rho=False, axes=None):
    """How stale the behaviour policy was. Panels: (1) the histogram of ``records["policy_lag"]`` (learner version
    minus behaviour version, per unroll used), as fractions of the unrolls; (2) the mean lag of each update's
    unrolls against the update number; (3) the queue: unrolls waiting against seconds (``records["queue"]``);
    with ``rho``, (4) the mean pi/mu of each update's batch (``records["rho_mean"]``) with a line at 1.

    One TrainResult, a list (labelled by their settings) or {label: result}, each in its own colour.
    Draws into ``axes`` (3 or 4) if given; returns the figure."""
    groups = _as_labelled(result_or_results)
    panels = 4 if rho else 3
    created = axes is None
    if created:
        fig, axes = plt.subplots(2, 2, figsize=(12, 7)) if rho else plt.subplots(1, 3, figsize=(14, 3.8))
    axes = np.ravel(axes)[:panels]
    fig = axes[0].figure
    hist, over_time, queue = axes[:3]
    largest = max((max(r.records["policy_lag"], default=0) for _, r in groups), default=0)
    edges = np.arange(largest + 2) - 0.5
    for k, (label, r) in enumerate(groups):
        color = f"C{k % 10}"
        lag = np.asarray(r.records["policy_lag"], dtype=int)
        counts = np.bincount(lag, minlength=largest + 1)[: largest + 1]
        hist.stairs(counts / max(len(lag), 1), edges, color=color, lw=2,
                    label=tr("{label} (mean {mean:.1f})", label=label, mean=lag.mean() if len(lag) else float("nan")))
        per_update = lag_per_update(r)
        over_time.plot(np.arange(1, len(per_update) + 1), per_update, color=color, lw=1, label=label)
        q = np.asarray(r.records["queue"], dtype=float).reshape(-1, 2)
        queue.step(q[:, 0], q[:, 1], where="post", color=color, lw=1, label=label)
        if rho:
            rhos = np.asarray(r.records["rho_mean"], dtype=float)
            axes[3].plot(np.arange(1, len(rhos) + 1), rhos, color=color, lw=1,
                         label=tr("{label} (std {std:.3f})", label=label,
                                  std=rhos.std() if len(rhos) else float("nan")))
    hist.set_xlabel(tr("policy lag: learner version - behaviour version (updates)"))
    hist.set_ylabel(tr("fraction of the unrolls used"))
    hist.set_title(tr("How stale was the behaviour policy?"), fontsize=10)
    over_time.set_xlabel(tr("learner update"))
    over_time.set_ylabel(tr("mean lag of its unrolls"))
    over_time.set_title(tr("The lag, update by update"), fontsize=10)
    queue.set_xlabel(tr("seconds since train() started"))
    queue.set_ylabel(tr("unrolls waiting"))
    queue.set_title(tr("The queue after each update"), fontsize=10)
    # headroom above the tallest bar for the legend (one row per run), so that it never sits on the bars
    tallest = max((p.get_data()[0].max(initial=0) for p in hist.patches), default=0) or 1.0
    hist.set_ylim(0, tallest / max(0.3, 1 - 0.12 - 0.07 * len(groups)))
    hist.legend(fontsize=8, loc="upper right")
    if rho:
        axes[3].axhline(1.0, color="k", lw=0.8, ls=":")
        axes[3].set_xlabel(tr("learner update"))
        axes[3].set_ylabel(tr("mean of pi/mu over the batch"))
        axes[3].set_title(tr("pi/mu, update by update (its average under mu is always 1)"), fontsize=10)
        axes[3].legend(fontsize=8)
    if created:
        fig.tight_layout()
    return fig


# --- V-trace along one unroll ---------------------------------------------------------------------------------


def vtrace_table(behaviour_log_probs, target_log_probs, rewards, discounts, values, bootstrap_value,
                 clip_rho=1.0, clip_c=1.0, lam=1.0) -> dict:
    """The numbers behind ``plot_vtrace`` for one unroll ([T] arrays; ``bootstrap_value`` a number), all from
    ``impala.vtrace``: ``ratio`` pi/mu, ``rho`` and ``c`` (the clipped weights), ``values`` V(x_t), ``n_step``
    (the targets with every ratio taken as 1: the n-step return, what the learner uses with
    ``off_policy_correction="none"``),
    ``vs`` (V-trace with these clips) and ``vs_unclipped`` (clips None: full importance sampling), plus
    ``pg_advantages`` and the clips themselves."""
    def t(x):
        return torch.as_tensor(np.asarray(x, dtype=np.float64))

    mu, pi, r, d, v, v_T = (t(x) for x in (behaviour_log_probs, target_log_probs, rewards, discounts, values,
                                            bootstrap_value))
    ratio = torch.exp(pi - mu)
    out = impala.vtrace(mu, pi, r, d, v, v_T, clip_rho, clip_c, clip_rho, lam)
    return {
        "ratio": ratio.numpy(),
        "rho": (ratio if clip_rho is None else ratio.clamp(max=clip_rho)).numpy(),
        "c": (lam * (ratio if clip_c is None else ratio.clamp(max=clip_c))).numpy(),
        "values": v.numpy(),
        "n_step": impala.vtrace(mu, mu, r, d, v, v_T, None, None, None, 1.0).vs.numpy(),
        "vs": out.vs.numpy(),
        "vs_unclipped": impala.vtrace(mu, pi, r, d, v, v_T, None, None, None, lam).vs.numpy(),
        "pg_advantages": out.pg_advantages.numpy(),
        "clip_rho": clip_rho, "clip_c": clip_c,
    }


def plot_vtrace(table, axes=None):
    """Two panels over the steps t of one unroll, from a ``vtrace_table``. Left: the ratio pi/mu (grey bars, log
    scale) and the weights V-trace uses, rho_t (red) and c_t (blue), with the clips as lines. Right: the critic
    V(x_t) (dotted), the n-step return (green: every ratio taken as 1), V-trace's v_s (red) and v_s without
    clipping (purple, dashed: full importance sampling). Draws into two ``axes`` if given."""
    created = axes is None
    if created:
        fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    left, right = axes
    fig = left.figure
    steps = np.arange(len(table["ratio"]))
    left.bar(steps, table["ratio"], color="0.8", label="pi/mu")
    left.plot(steps, table["rho"], "v", color="tab:red", ms=9, label="rho_t = min(rho-bar, pi/mu)")
    left.plot(steps, table["c"], "o", color="tab:blue", mfc="none", ms=9, mew=2, label="c_t = min(c-bar, pi/mu)")
    for clip, color, name in ((table["clip_rho"], "tab:red", "rho-bar"), (table["clip_c"], "tab:blue", "c-bar")):
        if clip is not None:
            left.axhline(clip, color=color, lw=1, ls="--", label=f"{name} = {clip:.2g}")
    left.set_yscale("log")
    clips = [x for x in (table["clip_rho"], table["clip_c"]) if x is not None]
    left.set_ylim(min([0.1, float(np.min(table["ratio"]))] + clips) / 1.5,
                  max([2.0, float(np.max(table["ratio"]))] + clips) * 1.5)
    left.set_xticks(steps)
    left.set_xlabel(tr("step t of the unroll"))
    left.set_ylabel(tr("importance weight (log scale)"))
    left.set_title(tr("How much more (or less) pi likes the action mu took"), fontsize=10)
    left.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    right.plot(steps, table["values"], "k:", lw=1.5, label=tr("critic V(x_t)"))
    right.plot(steps, table["n_step"], "s-", color="tab:green", alpha=0.7, label=tr("n-step return (no correction)"))
    right.plot(steps, table["vs_unclipped"], "--", color="tab:purple", alpha=0.7, label=tr("v_s, no clipping"))
    right.plot(steps, table["vs"], "D-", color="tab:red", lw=2.5, label="v_s, V-trace")
    right.set_xticks(steps)
    right.set_xlabel(tr("step s of the unroll"))
    right.set_ylabel(tr("value target"))
    right.set_title(tr("The targets the critic is trained towards"), fontsize=10)
    right.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    if created:
        fig.tight_layout()
    return fig


# --- throughput against lag -------------------------------------------------------------------------------------


def throughput_and_lag(results) -> dict:
    """{label: (mean policy lag, steady actor env steps/s)} of each run (``timeline.steady_steps_per_second``)."""
    return {label: (float(np.mean(r.records["policy_lag"])),
                    float(steady_steps_per_second(r.records["timeline"])))
            for label, r in _as_labelled(results)}


# Where a point's label may go, in points from the point (dx, dy, horizontal alignment), in order of preference.
LABEL_OFFSETS = ((7, 5, "left"), (7, -13, "left"), (-7, 5, "right"), (-7, -13, "right"),
                 (7, 17, "left"), (7, -25, "left"), (-7, 17, "right"), (-7, -25, "right"))


def label_points(ax, points):
    """Write each label of ``points`` {label: (x, y)} next to its point, at the first of ``LABEL_OFFSETS`` where
    its text comes no closer than ``gap`` to a label already written and touches no point and no axis edge (the
    first offset if none is free). Reads the text's size on the canvas, so call it after the axes' limits are
    set. Returns the annotations."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    dots = [ax.transData.transform(xy) for xy in points.values()]       # the points, in pixels
    radius = 6 * fig.dpi / 72                                           # a marker of size 9, and a little room
    gap = 3 * fig.dpi / 72                                              # between two labels
    frame = ax.get_window_extent(renderer)
    taken, annotations = [], []
    for label, xy in points.items():
        for dx, dy, align in LABEL_OFFSETS:
            note = ax.annotate(label, xy, textcoords="offset points", xytext=(dx, dy), ha=align, fontsize=8)
            box = note.get_window_extent(renderer)
            free = (not any(box.padded(gap).overlaps(other) for other in taken)
                    and not any(box.x0 - radius < px < box.x1 + radius and box.y0 - radius < py < box.y1 + radius
                                for px, py in dots)
                    and frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1)
            if free:
                break
            note.remove()
        else:                                          # nowhere free: the first place, overlapping
            dx, dy, align = LABEL_OFFSETS[0]
            note = ax.annotate(label, xy, textcoords="offset points", xytext=(dx, dy), ha=align, fontsize=8)
            box = note.get_window_extent(renderer)
        taken.append(box)
        annotations.append(note)
    return annotations


def plot_throughput_lag(results, baseline=None, ax=None):
    """One point per run: its mean policy lag (x) against its actors' steady env steps/s (y), labelled (a dict
    {label: result}, or results labelled by their settings). ``baseline``: the no-learning steps/s
    (``impala.no_learning_steps_per_second``), a dashed line. Points and line are labelled in place (no legend box
    to hide a point). Draws into ``ax`` if given; returns the figure."""
    points = throughput_and_lag(results)
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.2))
    fig = ax.figure
    for k, (label, (lag, rate)) in enumerate(points.items()):
        ax.plot([lag], [rate], "o", color=f"C{k % 10}", ms=9, label=label)
    ax.set_ylim(0, 1.15 * max([rate for _, rate in points.values()] + [baseline or 0]))
    ax.set_xlim(left=0, right=1.3 * max([lag for lag, _ in points.values()] + [1.0]))
    ax.set_xlabel(tr("mean policy lag (learner updates)"))
    ax.set_ylabel(tr("actors' env steps per second (steady)"))
    ax.set_title(tr("What the actors deliver, and how stale it is"), fontsize=10)
    label_points(ax, points)                               # once the limits are set: labels clear of each other
    if baseline is not None:
        note = tr("no learning: {rate:,.0f} steps/s", rate=baseline)
        ax.axhline(baseline, color="k", ls="--", lw=1, label=note)
        ax.annotate(note, (0, baseline), textcoords="offset points", xytext=(4, 4), fontsize=8)
    return fig


# --- where a correction matters: the one-hot cliff and the corrections over seeds ------------------------------

CLIFF_ROWS, CLIFF_COLS = 4, 12                      # rlteach/OneHotCliffWalking-v1: start 36, goal 47, cliff 37-46


def plot_cliff_paths(paths, ax=None) -> plt.Figure:
    """The cliff's grid and the cells each policy visits from the start (``envs.cliff_path``): ``paths`` is
    {label: [cell, ...]}. A path that ends short of the goal gets an x where it stopped moving (a policy that
    walks into a wall stays in its cell until the time limit)."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 3.2))
    for col in range(1, CLIFF_COLS - 1):
        ax.add_patch(plt.Rectangle((col - 0.5, CLIFF_ROWS - 1.5), 1, 1, color="0.75"))
    ax.text(0, CLIFF_ROWS - 1, "S", ha="center", va="center", fontsize=13, weight="bold")
    ax.text(CLIFF_COLS - 1, CLIFF_ROWS - 1, "G", ha="center", va="center", fontsize=13, weight="bold")
    ax.text(CLIFF_COLS / 2 - 0.5, CLIFF_ROWS - 1, tr("the cliff: -100, back to S"), ha="center", va="center",
            fontsize=9)
    goal = CLIFF_ROWS * CLIFF_COLS - 1
    for k, (label, cells) in enumerate(paths.items()):
        shift = 0.12 * (k - (len(paths) - 1) / 2)                   # side by side where paths share cells
        rows, cols = np.divmod(np.asarray(cells), CLIFF_COLS)
        reached = cells[-1] == goal
        line, = ax.plot(cols + shift, rows + shift, "-", lw=2.5, alpha=0.8,
                        label=tr("{label}: {steps} steps", label=label, steps=len(cells) - 1) if reached
                        else tr("{label}: {steps} steps, never reaches G", label=label, steps=len(cells) - 1))
        if not reached:
            ax.plot(cols[-1] + shift, rows[-1] + shift, "x", ms=12, mew=3, color=line.get_color())
    ax.set_xlim(-0.5, CLIFF_COLS - 0.5)
    ax.set_ylim(CLIFF_ROWS - 0.5, -0.5)                              # row 0 at the top, as gymnasium draws it
    ax.set_xticks(np.arange(-0.5, CLIFF_COLS), minor=True)
    ax.set_yticks(np.arange(-0.5, CLIFF_ROWS), minor=True)
    ax.grid(which="minor", color="0.85")
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_aspect("equal")
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.02), fontsize=9, frameon=False)
    ax.set_title(tr("the greedy path of each policy, from S"))
    return fig


def plot_correction_scores(panels, threshold=None) -> plt.Figure:
    """One panel per experiment: ``panels`` is {title: {label: [score per seed]}}. Each seed is a dot, the
    median a bar across them; ``threshold`` (e.g. the cliff's -13, the optimal path) a dashed line."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), squeeze=False)
    rng = np.random.default_rng(0)                                     # a fixed jitter, so dots do not overlap
    for ax, (title, groups) in zip(axes[0], panels.items(), strict=True):
        for i, scores in enumerate(groups.values()):
            ax.plot([i - 0.3, i + 0.3], [np.median(scores)] * 2, "k-", lw=2, zorder=2)
            ax.plot(i + rng.uniform(-0.12, 0.12, len(scores)), scores, "o", alpha=0.7, color=f"C{i}", zorder=3)
        if threshold is not None and threshold.get(title) is not None:
            ax.axhline(threshold[title], ls="--", color="0.5", label=tr("the optimal path"))
            ax.legend(fontsize=8, loc="center right")
        ax.margins(y=0.08)
        ax.set_xticks(range(len(groups)), list(groups), fontsize=9)
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(tr("score (mean of the last evaluations)"))
    fig.text(0.5, 0.01, tr("dots: one seed each; black bar: the median"), ha="center", fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
