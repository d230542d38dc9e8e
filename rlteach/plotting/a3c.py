"""Plots of notebook 03 (A3C): the worker timeline, the staleness histogram, and A3C against A2C in env steps
and in seconds."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from rlteach.messages import N_, tr
from rlteach.monitor import algorithm_name
from rlteach.plotting.core import plot_learning_curves

# --- 03 A3C: who did what when, and how stale the gradients were -----------------------------------------

TIMELINE_PHASES = ((N_("rollout"), 1, 2, "tab:blue"), (N_("compute"), 2, 3, "tab:orange"),   # legend: tr(name)
                   (N_("apply"), 3, 4, "tab:red"))


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
                           facecolors=color, edgecolor="none", label=tr(name) if y == 0 else None)
    ax.set_yticks(range(len(workers)), [tr("worker {w}", w=w) for w in workers])
    ax.set_ylim(max(len(workers), 1) - 0.5, -0.5)                      # worker 0 on top
    if max_seconds is not None:
        ax.set_xlim(start, end)
    ax.set_xlabel(tr("seconds since train() started"))
    config = result.config
    ax.set_title(tr("{algorithm}, {backend} backend: {workers} workers, {updates} updates shown",
                    algorithm=algorithm_name(config), backend=getattr(config, "backend", "?"), workers=len(workers),
                    updates=len(shown)))
    if workers:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return fig


_BACKEND_WORDS = {"thread": N_("thread"), "process": N_("process")}    # a legend's backend, shown through tr


def _staleness_label(result) -> str:
    config = result.config
    n, backend = getattr(config, "num_workers", "?"), getattr(config, "backend", "?")
    backend = tr(_BACKEND_WORDS[backend]) if backend in _BACKEND_WORDS else backend
    return (tr("{backend}, {n} workers", backend=backend, n=n) if n != 1
            else tr("{backend}, {n} worker", backend=backend, n=n))


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
               label=tr("{label} (mean {mean:.2f})", label=label, mean=mean))
    ax.set_xlim(values[0] - 0.5, values[-1] + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(tr("staleness: updates applied by other workers during this worker's cycle"))
    ax.set_ylabel(tr("fraction of updates") if normalize else tr("updates"))
    ax.set_title(tr("How old were the weights each gradient was computed on?"))
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
    curves_by_steps_and_seconds(runs, by_steps, by_seconds,
                                (tr("sample efficiency"), tr("wall clock, everything included")))
    fig.tight_layout(rect=(0, 0.07, 1, 1))              # the bottom 7% is the legend's
    return fig



# --- 03 and 04: more workers, faster learning? (benchmarks/claims.py: a3c_scaling, apex_scaling) ---------


def plot_worker_scaling(runs, paper_speedup=None, title=None, unit="workers"):
    """The two views of Mnih et al. (2016, Table 2 and Figure 3) side by side, against the worker count on a
    log2 axis: left, seconds to solve; right, env steps to solve (data efficiency). Each dot is one run
    (``runs``: dicts with "workers", "seed", "seconds_to_solve", "steps_to_solve", None where unsolved), the
    line joins the medians and the band spans the quartiles; unsolved runs are counted as slower than every
    solved one (a median that is unsolved is not drawn; an upper quartile that is reaches the slowest solved
    run), and their number is written under each count.
    ``paper_speedup`` ({workers: speed-up}) draws the paper's speed-up as a dashed reference: our median
    seconds at the fewest workers divided by it. ``unit`` names the workers ("workers", "actors"). Returns
    the figure."""
    counts = sorted({int(r["workers"]) for r in runs})
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, label in ((axes[0], "seconds_to_solve", tr("seconds to solve")),
                           (axes[1], "steps_to_solve", tr("env steps to solve"))):
        quartiles = []
        for k in counts:
            values = [r[key] for r in runs if int(r["workers"]) == k]
            solved = [v for v in values if v is not None]
            ax.scatter(np.full(len(solved), k) * np.exp(np.linspace(-0.06, 0.06, len(solved))), solved, s=14,
                       color="tab:blue", alpha=0.5, zorder=3)
            ranked = np.array([np.inf if v is None else v for v in values], dtype=float)
            with np.errstate(invalid="ignore"):         # a quartile next to an unsolved run: nan (inf * 0)
                quartiles.append(np.percentile(ranked, [25, 50, 75]) if len(ranked) else [np.nan] * 3)
            if len(values) > len(solved):
                ax.annotate(tr("{count} unsolved", count=len(values) - len(solved)), (k, 0),
                            xycoords=("data", "axes fraction"),
                            xytext=(0, 3), textcoords="offset points", ha="center", fontsize=7, color="tab:red")
        q = np.where(np.isfinite(quartiles), quartiles, np.nan).reshape(-1, 3)
        solved_values = [r[key] for r in runs if r[key] is not None]
        top = max(solved_values) if solved_values else np.nan    # an unsolved upper quartile: to the slowest run
        upper = np.where(np.isnan(q[:, 2]) & np.isfinite(q[:, 1]), top, q[:, 2])
        ax.fill_between(counts, q[:, 0], upper, color="tab:blue", alpha=0.15, label=tr("quartiles"))
        ax.plot(counts, q[:, 1], "o-", color="tab:blue", label=tr("median"))
        if key == "seconds_to_solve" and paper_speedup and np.isfinite(q[0, 1]):
            ks = [k for k in counts if k in paper_speedup or str(k) in paper_speedup]
            speedup = [paper_speedup.get(k, paper_speedup.get(str(k))) for k in ks]
            ax.plot(ks, q[0, 1] / np.array(speedup, dtype=float), "--", color="gray",
                    label=tr("paper's speed-up, from our median"))
        ax.set_xscale("log", base=2)
        ax.set_xticks(counts, [str(k) for k in counts])
        ax.set_xlabel({"workers": tr("workers"), "actors": tr("actors")}.get(unit, unit))   # a caller's own: as is
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    axes[0].set_title(tr("wall-clock time (speed-up)"))
    axes[1].set_title(tr("env steps (data efficiency)"))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
