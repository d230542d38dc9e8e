"""Notebook 08's figures: PPO's clipped objective, a ring all-reduce step by step, where a DD-PPO round's time
goes, a straggler's rollouts with and without preemption, and the batches SEED RL's inference server sees."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch

from rlteach.messages import tr


def plot_clip_objective(clip_eps=0.2) -> plt.Figure:
    """min(r A, clip(r, 1 - eps, 1 + eps) A) against the ratio r, for A = +1 and A = -1 (the paper's figure 1),
    beside the unclipped r A: flat where the clip has taken over, so the gradient there is 0."""
    r = np.linspace(0.0, 2.0, 401)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=False)
    for ax, a in zip(axes, (1.0, -1.0), strict=True):
        clipped = np.minimum(r * a, np.clip(r, 1 - clip_eps, 1 + clip_eps) * a)
        ax.plot(r, r * a, color="0.6", ls="--", label=tr("r A (no clip)"))
        ax.plot(r, clipped, color="C0", lw=2.5, label="min(r A, clip(r) A)")
        ax.axvspan(1 - clip_eps, 1 + clip_eps, color="C2", alpha=0.12, label=f"[1 - eps, 1 + eps], eps = {clip_eps}")
        ax.axvline(1.0, color="k", lw=0.8)
        ax.set(xlabel=tr("ratio r = pi_theta / pi_theta_old"), title=f"A = {a:+.0f}",
               ylabel=tr("objective (to maximise)") if a > 0 else None)
        ax.legend(fontsize=8, loc="upper left" if a > 0 else "lower left")
    fig.tight_layout()
    return fig


def plot_ring_allreduce(num_workers=3) -> plt.Figure:
    """A ring all-reduce of ``num_workers`` gradients, each cut into as many chunks: N - 1 steps of
    reduce-scatter (each worker passes one chunk to its right-hand neighbour, which adds its own), then N - 1
    of all-gather (the finished sums go round). Columns: the steps; a cell lists whose gradients a worker's
    chunk holds so far (letters = workers)."""
    n = num_workers
    names = [chr(ord("a") + i) for i in range(n)]
    held = [[{i} for _ in range(n)] for i in range(n)]               # held[worker][chunk]: whose sums it has
    frames = [(tr("start: each worker's own gradient"), [[set(c) for c in w] for w in held], [])]
    for step in range(n - 1):                                          # reduce-scatter
        sends = [(i, (i - step) % n) for i in range(n)]               # worker i sends chunk (i - step) mod n
        received = [(i, c, set(held[i][c])) for i, c in sends]
        for i, c, s in received:
            held[(i + 1) % n][c] |= s
        frames.append((tr("reduce-scatter {step}", step=step + 1), [[set(c) for c in w] for w in held], sends))
    for step in range(n - 1):                                          # all-gather
        sends = [(i, (i + 1 - step) % n) for i in range(n)]           # the chunk worker i finished
        received = [(i, c, set(held[i][c])) for i, c in sends]
        for i, c, s in received:
            held[(i + 1) % n][c] = s
        frames.append((tr("all-gather {step}", step=step + 1), [[set(c) for c in w] for w in held], sends))
    fig, axes = plt.subplots(1, len(frames), figsize=(2.3 * len(frames), 0.55 * n + 1.4), sharey=True)
    for ax, (title, state, sends) in zip(axes, frames, strict=True):
        for w in range(n):
            for c in range(n):
                whole = len(state[w][c]) == n
                ax.add_patch(plt.Rectangle((c, n - 1 - w), 0.92, 0.85, color="C2" if whole else "C0",
                                           alpha=0.55 if whole else 0.15 + 0.6 * len(state[w][c]) / n))
                ax.text(c + 0.46, n - 1 - w + 0.42, "+".join(names[k] for k in sorted(state[w][c])),
                        ha="center", va="center", fontsize=8)
        for i, c in sends:
            j = (i + 1) % n
            ax.add_patch(FancyArrowPatch((c + 0.9, n - 1 - i + 0.2), (c + 0.9, n - 1 - j + 0.65),
                                         connectionstyle="arc3,rad=-0.4", arrowstyle="-|>", mutation_scale=8,
                                         color="C3", lw=0.8))
        ax.set(xlim=(-0.1, n + 0.3), ylim=(-0.2, n), title=title, xticks=np.arange(n) + 0.46,
               xticklabels=[tr("chunk {k}", k=k) for k in range(n)])
        ax.title.set_fontsize(9)
        ax.tick_params(labelsize=7)
    axes[0].set_yticks(np.arange(n) + 0.42, [tr("worker {w}", w=names[n - 1 - k]) for k in range(n)])
    fig.suptitle(tr("ring all-reduce of {n} gradients: each worker sends 2 (N - 1) chunks of 1/N of the gradient "
                    "(red: this step's messages; green: the full sum)", n=n), fontsize=9)
    fig.tight_layout()
    return fig


def plot_round_times(result) -> plt.Figure:
    """A DD-PPO run, round by round: each worker's seconds rolling out, waiting for the others' rollouts,
    inside the all-reduces, and the rest of its update (its own forward and backward passes), stacked; one
    group of bars per round."""
    rec = result.records
    rollout, wait, allreduce, update = (np.asarray(rec[k]) for k in ("rollout_seconds", "wait_seconds",
                                                                        "allreduce_seconds", "update_seconds"))
    rounds, workers = rollout.shape
    fig, ax = plt.subplots(figsize=(9, 3.4))
    width = 0.8 / workers
    for w in range(workers):
        x = np.arange(rounds) + (w - (workers - 1) / 2) * width
        parts = [(rollout[:, w], tr("rolling out"), "C0"), (wait[:, w], tr("waiting for the others' rollouts"), "0.7"),
                 (allreduce[:, w], tr("in the all-reduces"), "C3"),
                 (update[:, w] - allreduce[:, w], tr("the rest of the update"), "C2")]
        bottom = np.zeros(rounds)
        for values, label, color in parts:
            ax.bar(x, values, width, bottom=bottom, color=color, label=label if w == 0 else None,
                   edgecolor="white", lw=0.3)
            bottom += values
    ax.set(xlabel=tr("round (workers side by side: rank 0 on the left)"), ylabel=tr("seconds"),
           title=tr("DD-PPO with {workers} workers: where each round's time goes", workers=workers))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_preemption(runs, n_steps) -> plt.Figure:
    """Rollout lengths per round and worker, for each run in ``runs`` ({label: DD-PPO TrainResult}); the
    dashed line is ``n_steps``, a full rollout."""
    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 3.2), sharey=True, squeeze=False)
    for ax, (label, result) in zip(axes[0], runs.items(), strict=True):
        steps = np.asarray(result.records["rollout_steps"])
        for w in range(steps.shape[1]):
            slowed = w == steps.shape[1] - 1 and result.config.slow_worker_ms
            ax.plot(np.arange(len(steps)), steps[:, w], "o-", ms=3,
                    label=tr("worker {w} (slowed)", w=w) if slowed else tr("worker {w}", w=w))
        ax.axhline(n_steps, color="k", ls="--", lw=0.8)
        ax.set(title=label, xlabel=tr("round"), ylim=(0, n_steps * 1.15))
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel(tr("steps per env in the rollout"))
    fig.tight_layout()
    return fig


def plot_batch_sizes(result) -> plt.Figure:
    """SEED RL's inference server: how many forwards served k actors at once (``records["batch_counts"]``),
    beside the actors' mean round trip and env step (``round_trip_ms``, ``env_step_ms``)."""
    counts = np.asarray(result.records["batch_counts"], dtype=float)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.2), gridspec_kw={"width_ratios": [2, 1]})
    k = np.arange(len(counts))
    ax.bar(k[1:], counts[1:] / counts.sum(), color="C0")
    mean = (k * counts).sum() / counts.sum()
    ax.axvline(mean, color="C3", ls="--", label=tr("mean {mean:.2f} actors per forward", mean=mean))
    ax.set(xlabel=tr("actors answered by one forward pass"), ylabel=tr("share of the forwards"), xticks=k[1:],
           title=tr("the server's batches ({forwards:,} forwards)", forwards=int(counts.sum())))
    ax.legend(fontsize=8)
    parts = {tr("round trip"): np.mean(result.records["round_trip_ms"]),
             tr("env step"): np.mean(result.records["env_step_ms"])}
    bx.bar(list(parts), list(parts.values()), color=["C3", "C2"])
    for i, v in enumerate(parts.values()):
        bx.annotate(f"{v:.2f} ms", (i, v), ha="center", va="bottom", xytext=(0, 3), textcoords="offset points",
                    fontsize=8)
    bx.set(ylabel=tr("ms per step (mean over the actors)"), title=tr("an actor's step"))
    bx.set_ylim(0, max(parts.values()) * 1.2)
    fig.tight_layout()
    return fig
