"""Every design on three workloads (notebook 07, ``make bench``): time to solve, env steps/s, where the time
went, and learning curves against wall-clock time. Each function takes the run records of
``rlteach.side_by_side`` (``run_one``'s dicts, or the JSON the bench wrote) and returns the figure. Last,
``plot_field_map``: where the systems after this workbook changed its actor/learner pipeline."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from rlteach.messages import N_, tr
from rlteach.side_by_side import PHASES, summarize

PHASE_COLORS = dict(zip(PHASES, ["tab:green", "tab:blue", "tab:orange", "tab:gray", "tab:purple", "lightgray"],
                        strict=True))
# The names of rlteach.side_by_side.PHASES, marked for the catalog: keys there, shown here as tr(phase)
_PHASE_NAMES = (N_("env stepping"), N_("acting"), N_("learning"), N_("waiting"), N_("evaluating"), N_("other"))


def _order(records, workload):
    """The contenders run on ``workload``, in the order they first appear."""
    return list(dict.fromkeys(r["contender"] for r in records if r["workload"] == workload))


def plot_side_by_side(records, workloads=None):
    """One row per workload: time to solve (a dot per seed, a bar at the median; an unsolved run is an x at
    its run's end), env steps/s (median), and where the time went (median shares, stacked)."""
    workloads = workloads or list(dict.fromkeys(r["workload"] for r in records))
    rows = summarize(records)
    height = sum(max(3.0, 0.32 * len(_order(records, w))) for w in workloads)
    fig, axes = plt.subplots(len(workloads), 3, figsize=(15, height), squeeze=False,
                             gridspec_kw={"height_ratios": [len(_order(records, w)) + 2 for w in workloads]})
    for row, workload in zip(axes, workloads, strict=True):
        names = _order(records, workload)
        y = np.arange(len(names))
        solve, speed, shares = row
        for i, name in enumerate(names):
            runs = [r for r in records if r["workload"] == workload and r["contender"] == name]
            median = rows[(workload, name)]["seconds_to_solve"]
            if median is not None:
                solve.barh(i, median, color="tab:blue", alpha=0.3)
            solved = [r["seconds_to_solve"] for r in runs if r["solved"]]
            solve.plot(solved, [i] * len(solved), "o", color="tab:blue", ms=4)
            unsolved = [r["seconds"] for r in runs if not r["solved"]]
            solve.plot(unsolved, [i] * len(unsolved), "x", color="tab:red", ms=6)
            speed.barh(i, rows[(workload, name)]["steps_per_second"], color="tab:green", alpha=0.7)
            left = 0.0
            for phase in PHASES:
                share = rows[(workload, name)]["time_shares"][phase]
                shares.barh(i, share, left=left, color=PHASE_COLORS[phase], label=tr(phase) if i == 0 else None)
                left += share
        for ax in row:
            ax.set_yticks(y, names if ax is solve else [""] * len(names))
            ax.invert_yaxis()
            ax.grid(axis="x", alpha=0.3)
        solve.set_title(tr("{workload}: seconds to solve (x: unsolved)", workload=workload))
        solve.set_xscale("log")
        solve.set_xlabel(tr("seconds to solve (log scale)"))
        speed.set_xlabel(tr("env steps per second"))
        shares.set_xlabel(tr("share of the run's time"))
        speed.set_title(tr("{workload}: env steps per second (median)", workload=workload))
        shares.set_title(tr("{workload}: where this process's threads were", workload=workload))
        shares.set_xlim(0, 1)
    axes[0, 2].legend(loc="lower left", bbox_to_anchor=(0, 1.08), ncol=3, fontsize=8)
    fig.tight_layout()
    return fig


def plot_curves_against_time(records, workload, contenders=None, ax=None):
    """The greedy evaluation's mean return against wall-clock seconds, one line per run (one colour per
    contender): who gets good first, in seconds rather than env steps."""
    contenders = contenders or _order(records, workload)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(9, 4.5))
    colors = plt.get_cmap("tab10")
    for k, name in enumerate(contenders):
        runs = [r for r in records if r["workload"] == workload and r["contender"] == name and r["evals"]]
        for j, r in enumerate(runs):
            evals = np.asarray(r["evals"], dtype=float)
            ax.plot(evals[:, 1], evals[:, 2], "-", color=colors(k % 10), alpha=0.8, lw=1.2,
                    label=name if j == 0 else None)
    ax.axhline(475, color="k", ls=":", lw=1, label=tr("solved ({threshold:g})", threshold=475))
    ax.set_xlabel(tr("seconds since train() was called"))
    ax.set_ylabel(tr("greedy evaluation: mean return"))
    ax.set_ylim(0, 520)
    ax.set_title(tr("{workload}: learning against wall-clock time", workload=workload))
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


# --- where the field went: which box of the pipeline each later system changed ----------------------------

PIPELINE = (N_("env"), N_("actor"), N_("rollout or\ntransitions"), N_("queue or\nreplay"), N_("learner"),
            N_("new\nparameters"))     # keys of FIELD too: shown as tr(box)
FIELD = {          # box -> the systems that changed it, and how (notebook 07, section 8); shown as tr(system)
    "env": [N_("EnvPool: many envs,\none C++ call"), N_("Isaac Gym, Brax:\nthousands on a GPU")],
    "actor": [N_("SEED RL: inference\non the learner"), N_("Sample Factory:\nstepping and inference\napart")],
    "rollout or\ntransitions": [N_("R2D2: sequences with\na recurrent state")],
    "queue or\nreplay": [N_("R2D2: replay of\nsequences"), N_("Sample Factory:\nshared-memory buffers")],
    "learner": [N_("PPO: several passes,\nclipped ratio"), N_("APPO: PPO on\nIMPALA's queue"),
                N_("RLlib: data-parallel\nLearners")],
    "new\nparameters": [N_("SEED RL: none sent,\nactors hold no policy")],
}


def plot_field_map():
    """The workbook's pipeline, env -> actor -> rollout or transitions -> queue or replay -> learner -> new
    parameters (-> actors), one box each, and under each box the later systems (``FIELD``) that changed it."""
    fig, ax = plt.subplots(figsize=(14, 3.4))
    xs = np.arange(len(PIPELINE)) * 2.5
    for x, box in zip(xs, PIPELINE, strict=True):
        ax.text(x, 3.0, tr(box), ha="center", va="center", fontsize=10, weight="bold",
                bbox=dict(boxstyle="round,pad=0.5", facecolor="#d5f0d0", edgecolor="0.3"))
        for i, system in enumerate(FIELD[box]):
            ax.text(x, 2.3 - 0.9 * i, tr(system), ha="center", va="top", fontsize=8,
                    bbox=dict(boxstyle="round,pad=0.3", facecolor="#fbe3c4", edgecolor="none"))
    for a, b in zip(xs[:-1], xs[1:], strict=True):
        ax.annotate("", xy=(b - 0.75, 3.0), xytext=(a + 0.75, 3.0), arrowprops=dict(arrowstyle="->", lw=1.5))
    ax.annotate("", xy=(xs[1], 3.45), xytext=(xs[-1], 3.45),                  # new parameters go back to the actors
                arrowprops=dict(arrowstyle="->", lw=1.5, color="tab:red", connectionstyle="arc3,rad=0.08"))
    ax.set_xlim(xs[0] - 1.1, xs[-1] + 1.1)
    ax.set_ylim(-0.1, 4.2)
    ax.set_axis_off()
    ax.set_title(tr("Where the field went: the workbook's pipeline (green) and the later systems that changed "
                    "each box"))
    fig.tight_layout()
    return fig
