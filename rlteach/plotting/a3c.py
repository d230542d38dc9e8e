"""Plots of notebook 03 (A3C): the worker timeline, the staleness histogram, and A3C against A2C in env steps
and in seconds."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from rlteach.monitor import algorithm_name
from rlteach.plotting.core import plot_learning_curves

# --- 03 A3C: who did what when, and how stale the gradients were -----------------------------------------

TIMELINE_PHASES = (("rollout", 1, 2, "tab:blue"), ("compute", 2, 3, "tab:orange"), ("apply", 3, 4, "tab:red"))


def plot_timeline(result, max_seconds=None, start=None, ax=None):
    """One row per worker; each update drawn as three bars: copy -> rolled out ("rollout"), rolled out ->
    computed ("compute", the loss and its gradient), computed -> applied ("apply", the shared optimizer step).

    Reads ``result.records["timeline"]`` (``timeline.A3CUpdate`` rows; seconds since ``train()`` started).
    ``max_seconds`` shows only a window that long, from ``start`` (default: the moment the last worker began
    its first update, so every row has started); without it, the whole run. Returns the figure.
    """
    rows = np.array([(r.who, r.start, r.t_rolled_out, r.t_computed, r.end)     # columns 0 .. 4, as used below
                     for r in result.records["timeline"]], dtype=float).reshape(-1, 5)
    workers = sorted({int(w) for w in rows[:, 0]})
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 0.6 * len(workers) + 1.5))
    fig = ax.figure
    if start is None:
        start = max(rows[rows[:, 0] == w, 1].min() for w in workers) if max_seconds is not None and workers else 0.0
    end = start + max_seconds if max_seconds is not None else (rows[:, 4].max() if len(rows) else 1.0)
    shown = rows[(rows[:, 4] >= start) & (rows[:, 1] <= end)]         # updates that touch the window
    for y, w in enumerate(workers):
        mine = shown[shown[:, 0] == w]
        for name, a, b, color in TIMELINE_PHASES:
            ax.broken_barh(list(zip(mine[:, a], mine[:, b] - mine[:, a], strict=True)), (y - 0.35, 0.7),
                           facecolors=color, edgecolor="none", label=name if y == 0 else None)
    ax.set_yticks(range(len(workers)), [f"worker {w}" for w in workers])
    ax.set_ylim(max(len(workers), 1) - 0.5, -0.5)                      # worker 0 on top
    if max_seconds is not None:
        ax.set_xlim(start, end)
    ax.set_xlabel("seconds since train() started")
    config = result.config
    ax.set_title(f"{algorithm_name(config)}, {getattr(config, 'backend', '?')} backend: {len(workers)} workers, "
                 f"{len(shown)} updates shown")
    if workers:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return fig


def _staleness_label(result) -> str:
    config = result.config
    n = getattr(config, "num_workers", "?")
    return f"{getattr(config, 'backend', '?')}, {n} worker{'s' * (n != 1)}"


def plot_staleness(result_or_results, ax=None, normalize=False):
    """Histogram of ``result.records["staleness"]``: how many updates others applied between a worker's copy
    of the weights and its own update. Several results (a list, or a dict {label: result}) are drawn side by
    side on one axis, labelled by backend and number of workers (or the dict's keys). One bar per staleness
    value; its height is the number of updates with that staleness (the fraction, with ``normalize``)."""
    if isinstance(result_or_results, dict):
        groups = list(result_or_results.items())
    else:
        results = result_or_results if isinstance(result_or_results, list | tuple) else [result_or_results]
        groups = [(_staleness_label(r), r) for r in results]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.6))
    fig = ax.figure
    counts = [np.bincount(np.asarray(r.records["staleness"], dtype=int), minlength=1) for _, r in groups]
    values = np.arange(max(len(c) for c in counts))
    width = 0.8 / len(groups)
    for i, ((label, _), c) in enumerate(zip(groups, counts, strict=True)):
        height = c / max(c.sum(), 1) if normalize else c
        mean = (np.arange(len(c)) * c).sum() / max(c.sum(), 1)
        ax.bar(np.arange(len(c)) + (i - (len(groups) - 1) / 2) * width, height, width,
               label=f"{label} (mean {mean:.2f})")
    ax.set_xlim(values[0] - 0.5, values[-1] + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("staleness: updates applied by other workers during this worker's cycle")
    ax.set_ylabel("fraction of updates" if normalize else "updates")
    ax.set_title("How old were the weights each gradient was computed on?")
    ax.legend(fontsize=8)
    return fig


# --- 03 A3C against A2C: the same runs against env steps and against seconds ----------------------------------


def curves_by_steps_and_seconds(runs, by_steps, by_seconds, titles):
    """``plot_learning_curves(runs)`` against env steps into ``by_steps`` and against seconds into ``by_seconds``
    (their ``titles``), with ONE legend for both under the panels (leave it the figure's bottom in tight_layout)."""
    plot_learning_curves(runs, x="steps", ax=by_steps)
    plot_learning_curves(runs, x="seconds", ax=by_seconds)
    handles, labels = by_steps.get_legend_handles_labels()
    for handle, label in zip(*by_seconds.get_legend_handles_labels(), strict=True):   # what only one panel drew
        if label not in labels:                                                      # (a held seed's note)
            handles.append(handle)
            labels.append(label)
    for ax, title in zip((by_steps, by_seconds), titles, strict=True):
        ax.set_title(title)
        ax.get_legend().remove()
    by_steps.figure.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)


def plot_steps_and_seconds(runs):
    """Two panels of ``plot_learning_curves(runs)``: against env steps ("sample efficiency") and against seconds
    ("wall clock"). ONE legend for both, under the panels, where it covers no curve. Returns the figure."""
    if not isinstance(runs, dict) or not runs:
        raise TypeError(f"runs must be a non-empty dict {{label: result}}, got {type(runs).__name__}")
    fig, (by_steps, by_seconds) = plt.subplots(1, 2, figsize=(12, 4.4))
    curves_by_steps_and_seconds(runs, by_steps, by_seconds, ("sample efficiency", "wall clock, everything included"))
    fig.tight_layout(rect=(0, 0.07, 1, 1))              # the bottom 7% is the legend's
    return fig

