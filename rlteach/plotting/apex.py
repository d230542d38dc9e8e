"""Plots of notebook 04 (Ape-X): DQN in brief (tabular Q-learning's error against steps, the Huber loss against
the squared loss), the sum-tree and the walk ``find`` takes through it, the priorities P(i) and importance
weights w_i of a set of TD errors, the Blind Cliffwalk's updates to learn per replay strategy, and the epsilon
ladder with each actor's episode returns."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.ticker import NullLocator

from rlteach.messages import N_, tr
from rlteach.replay import SumTree

# --- DQN in brief: Q-learning on the chain, the Huber loss -------------------------------------------------


def plot_q_learning(runs, ax=None):
    """max_{s,a} |Q - Q*| against the steps of tabular Q-learning (log scale), one line per run: ``runs``
    maps a label to the (steps, errors) that ``rlteach.mdp.q_learning`` returns after its table."""
    if not isinstance(runs, dict) or not runs:
        raise TypeError(f"runs must be a non-empty dict {{label: (steps, errors)}}, got {type(runs).__name__}")
    created = ax is None
    if created:
        fig, ax = plt.subplots(figsize=(7, 3.8))
    for label, (steps, errors) in runs.items():
        ax.plot(steps, errors, lw=1.5, label=label)
    ax.set_yscale("log")
    ax.set_xlabel(tr("steps (sampled transitions)"))
    ax.set_ylabel(tr("max |Q - Q*| (log scale)"))
    ax.set_title(tr("Tabular Q-learning on the chain MDP"), fontsize=10)
    ax.legend(fontsize=8)
    if created:
        ax.figure.tight_layout()
    return ax.figure


def plot_huber(delta_max=3.0, kappa=1.0, axes=None):
    """The loss of one TD error delta, squared (delta^2 / 2) against Huber (``torch.nn.functional.huber_loss``
    with ``delta=kappa``, what ``apex.learner_step`` minimises): delta^2 / 2 for |delta| <= kappa, kappa
    (|delta| - kappa / 2) beyond. Left the losses, right their gradients d loss / d delta (by autograd):
    delta against delta clipped to [-kappa, kappa]."""
    if not delta_max > 0 or not kappa > 0:
        raise ValueError(f"delta_max={delta_max!r} and kappa={kappa!r} must both be > 0")
    delta = torch.linspace(-delta_max, delta_max, 401, dtype=torch.float64, requires_grad=True)
    curves = {tr("squared: δ²/2"): 0.5 * delta**2,
              tr("Huber (κ = {kappa:g})", kappa=kappa): F.huber_loss(delta, torch.zeros_like(delta), reduction="none",
                                                                    delta=kappa)}
    created = axes is None
    if created:
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    loss_ax, grad_ax = axes
    x = delta.detach().numpy()
    for (label, loss), style in zip(curves.items(), ("--", "-"), strict=True):
        (grad,) = torch.autograd.grad(loss.sum(), delta)
        loss_ax.plot(x, loss.detach().numpy(), style, lw=2, label=label)
        grad_ax.plot(x, grad.numpy(), style, lw=2, label=label)
    for ax, title in ((loss_ax, tr("loss of one TD error δ")), (grad_ax, tr("its gradient d loss / d δ"))):
        ax.axvspan(-kappa, kappa, color="0.92", zorder=0, label=tr("|δ| ≤ κ: Huber is squared here"))
        ax.set_xlabel(tr("TD error δ"))
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, loc="upper center")
    if created:
        loss_ax.figure.tight_layout()
    return loss_ax.figure


# --- the sum-tree ------------------------------------------------------------------------------------------


def _as_sum_tree(tree_or_values) -> SumTree:
    """A SumTree as given, or a new one whose leaves 0..n-1 hold the n given values."""
    if isinstance(tree_or_values, SumTree):
        return tree_or_values
    values = np.asarray(tree_or_values, dtype=float).ravel()
    tree = SumTree(len(values))
    tree.update(np.arange(len(values)), values)
    return tree


def sum_tree_walk(tree_or_values, mass) -> list:
    """The steps ``SumTree.find(mass)`` takes, root to leaf, as (node, u on arrival, went right), u the mass
    left over: at each internal node k it goes right when u >= the left child's sum (and the right subtree is
    not empty), and then subtracts that left sum from u. The last row is the leaf's node (its ``went right`` is
    None)."""
    tree = _as_sum_tree(tree_or_values)
    if not 0 <= mass <= tree.total:
        raise ValueError(f"mass={mass!r} is outside the allowed range [0, total={tree.total}]")
    node, u, rows = 1, float(mass), []
    for _ in range(tree.depth):
        left, right = tree.tree[2 * node], tree.tree[2 * node + 1]
        go_right = bool(u >= left and right > 0)
        rows.append((int(node), float(u), go_right))
        u -= left * go_right
        node = 2 * node + go_right
    rows.append((int(node), float(u), None))
    return rows


def plot_sum_tree(tree_or_values, mass=None, ax=None):
    """Draw a sum-tree (a ``replay.SumTree`` or the values of its leaves): each node shows its sum, the root
    the total, each leaf its index i below it. With ``mass``, the path ``find(mass)`` walks is drawn in red,
    with the mass u left over at each node it visits. Every node is a text artist with gid ``"node k"`` (k in
    the layout of ``SumTree.tree``: root 1, children 2k and 2k+1); those on the path have a red box."""
    tree = _as_sum_tree(tree_or_values)
    path = sum_tree_walk(tree, mass) if mass is not None else []
    on_path = {node for node, _, _ in path}
    depth, leaves = tree.depth, tree.leaf0
    created = ax is None
    if created:
        fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * leaves + 1.0), 1.0 * depth + 1.6))
    fig = ax.figure

    def position(k):
        level = k.bit_length() - 1
        return ((k - (1 << level) + 0.5) * leaves / (1 << level), depth - level)

    for k in range(1, leaves):                            # edges first, under the boxes
        for child in (2 * k, 2 * k + 1):
            red = k in on_path and child in on_path
            (x0, y0), (x1, y1) = position(k), position(child)
            ax.plot([x0, x1], [y0, y1], color="tab:red" if red else "0.6", lw=2.5 if red else 1, zorder=1)
    for k in range(1, 2 * leaves):
        x, y = position(k)
        padding, red = k >= leaves + tree.capacity, k in on_path     # padding: leaves past the capacity
        face = "#f4cccc" if red else "white" if padding else "#fbe3c4" if k >= leaves else "#cde4f7"
        ax.text(x, y, f"{tree.tree[k]:.3g}", ha="center", va="center", fontsize=10, gid=f"node {k}",
                color="0.6" if padding else "black", fontweight="bold" if k == 1 else "normal", zorder=3,
                bbox=dict(boxstyle="round,pad=0.3", facecolor=face, edgecolor="tab:red" if red else "0.4",
                          lw=2 if red else 1))
        if k >= leaves:
            ax.text(x, y - 0.3, tr("pad") if padding else f"i={k - leaves}", ha="center", va="top", fontsize=8,
                    color="0.5")
    for node, u, _ in path:                               # the mass left over on arrival, beside each node
        x, y = position(node)
        ax.text(x + 0.3, y + 0.12, f"u={u:.3g}", fontsize=8, color="tab:red", ha="left", va="bottom", zorder=4,
                bbox=dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none"))
    ax.set_xlim(-0.1, leaves + 0.1)
    ax.set_ylim(-0.55, depth + 0.4)
    ax.set_axis_off()
    title = tr("A sum-tree over {capacity} priorities: each node holds the sum of its two children",
               capacity=tree.capacity)
    if path:
        leaf = path[-1][0] - leaves
        title += "\n" + tr("find({mass:g}): go right when u >= the left child's sum, and subtract it -> leaf {leaf}",
                           mass=mass, leaf=leaf)
    ax.set_title(title, fontsize=10)
    if created:
        fig.tight_layout()
    return fig


# --- priorities and importance weights ----------------------------------------------------------------------


def priority_table(td_errors, alpha=0.6, beta=0.4, eps=1e-3) -> dict:
    """For every transition of a small replay with these TD errors: p = |delta| + eps, the sampling
    probability P = p^alpha / sum p^alpha, the importance weight w = (N P)^-beta / max w (the max over all N,
    as if the batch held every transition) and the share P w / sum P w each one has in the expected update."""
    delta = np.asarray(td_errors, dtype=float).ravel()
    p = np.abs(delta) + eps
    P = p**alpha / (p**alpha).sum()
    w = (len(p) * P) ** -beta
    w = w / w.max()
    return {"td_errors": delta, "p": p, "P": P, "w": w, "share": P * w / (P * w).sum()}


def plot_priorities(td_errors, alpha=0.6, beta=0.4, eps=1e-3, top=3, axes=None):
    """Three bar plots over the transitions (x: index i, labelled with |delta_i|): the sampling probability
    P(i), the importance weight w_i, and P(i) w_i normalised, each transition's pull on the expected update
    (flat at 1/N, the dotted line, when beta = 1: the bias is fully undone). The ``top`` transitions with the
    largest |delta| are red. Draws into the three ``axes`` if given; returns the figure."""
    t = priority_table(td_errors, alpha, beta, eps)
    n = len(t["p"])
    created = axes is None
    if created:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    fig = axes[0].figure
    largest = np.argsort(-t["p"], kind="stable")[:top]
    colors = ["tab:red" if i in largest else "tab:blue" for i in range(n)]
    panels = [("P", f"P(i) = p_i^α / Σ p_k^α   (α = {alpha:.2f})", tr("sampling probability")),
              ("w", f"w_i = (N P(i))^-β / max w   (β = {beta:.2f})", tr("importance weight")),
              ("share", tr("P(i) w_i, normalised"), tr("share of the expected update"))]
    for ax, (key, title, ylabel) in zip(axes, panels, strict=True):
        ax.bar(np.arange(n), t[key], color=colors)
        if key != "w":
            ax.axhline(1 / n, color="k", ls=":", lw=1, label=tr("uniform: 1/N"))
            ax.set_ylim(0, 1.3 * max(t[key].max(), 1 / n))          # room for the legend above the bars
            ax.legend(fontsize=8, loc="upper left")
        ax.set_xticks(np.arange(n), [f"{abs(d):.2g}" for d in t["td_errors"]], fontsize=7)
        ax.set_xlabel(tr("transition i, labelled with its |δ_i|"))
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
    axes[1].set_ylim(0, 1.05)
    if created:
        fig.tight_layout()
    return fig


# --- the epsilon ladder and each actor's returns --------------------------------------------------------------


def _trailing_mean(x, window):
    """Mean of the last ``window`` values up to and including each one (fewer at the start)."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(1, len(x) + 1)
    start = np.maximum(i - window, 0)
    return (c[i] - c[start]) / (i - start)


def plot_epsilon_ladder(result_or_epsilons, smooth=10, axes=None):
    """The epsilon ladder: each actor's eps_i (log scale) against its index i. Given a TrainResult of
    ``rlteach.apex`` (its ``records``: "epsilons" and "actor_returns" rows (actor, env steps, return)), a
    second panel shows each actor's training episode returns against env steps (all actors' steps counted),
    dots for episodes and a line for the trailing mean of ``smooth`` episodes, one colour per actor,
    labelled with its epsilon. Draws into ``axes`` (one axis, or two with a result) if given."""
    records = getattr(result_or_epsilons, "records", None)
    eps = np.asarray(records["epsilons"] if records is not None else result_or_epsilons, dtype=float).ravel()
    created = axes is None
    if created:
        fig, axes = plt.subplots(1, 2 if records is not None else 1, figsize=(13 if records is not None else 6, 4),
                                 squeeze=False, gridspec_kw={"width_ratios": [1, 2]} if records is not None else None)
        axes = axes[0]
    axes = np.atleast_1d(axes)
    ladder = axes[0]
    fig = ladder.figure
    i = np.arange(len(eps))
    ladder.plot(i, eps, "-", color="0.7", zorder=1)
    ladder.scatter(i, eps, c=[f"C{k % 10}" for k in i], s=50, zorder=2)
    for k in i:
        ladder.annotate(f"{eps[k]:.2g}", (k, eps[k]), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ladder.set_yscale("log")
    ladder.set_xticks(i)
    ladder.set_xlim(-0.5, len(eps) - 0.5 + 0.4)
    ladder.set_xlabel(tr("actor i"))
    ladder.set_ylabel(tr("ε_i (log scale)"))
    ladder.set_title(tr("The ε ladder of {n} actors", n=len(eps)) if len(eps) != 1
                     else tr("The ε ladder of {n} actor", n=len(eps)), fontsize=10)
    if records is not None:
        ax = axes[1]
        rows = np.asarray(records["actor_returns"], dtype=float).reshape(-1, 3)
        for k in i:
            mine = rows[rows[:, 0] == k]
            color = f"C{k % 10}"
            ax.plot(mine[:, 1], mine[:, 2], ".", color=color, alpha=0.3, ms=3)
            ax.plot(mine[:, 1], _trailing_mean(mine[:, 2], smooth), "-", color=color, lw=2,
                    label=tr("actor {k} (ε = {eps:.2g})", k=k, eps=eps[k]))
        ax.set_xlabel(tr("env steps (all actors together)"))
        ax.set_ylabel(tr("training episode return"))
        ax.set_title(tr("Each actor's episodes (dots) and the mean of its last {smooth} (lines)", smooth=smooth),
                     fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
    if created:
        fig.tight_layout()
    return fig


# --- the Blind Cliffwalk (Schaul et al. 2016, figures 1 and 2) ----------------------------------------------

# replay -> (the paper's colour, the legend's label: shown through tr)
_CLIFFWALK_STYLE = {"uniform": ("black", N_("uniform")), "rank": ("tab:red", N_("rank-based")),
                    "proportional": ("tab:blue", N_("proportional")), "oracle": ("c", N_("oracle"))}


def plot_blind_cliffwalk(records, ax=None):
    """Updates to learn against the memory size N = 2^(n+1) - 2 (log-log, the paper's axes), one line per
    replay strategy: the median over seeds, with the band from the fewest to the most updates (the paper
    draws these min/max as faint lines). ``records``: the dicts n, replay, seed, updates of
    ``rlteach.blind_cliffwalk.sweep``. A top axis gives the chain length n."""
    if not isinstance(records, list | tuple) or not records:
        raise TypeError(f"records must be a non-empty list of dicts (n, replay, seed, updates), got {records!r:.60}")
    created = ax is None
    if created:
        fig, ax = plt.subplots(figsize=(7, 4.2))
    replays = list(dict.fromkeys(r["replay"] for r in records))
    for replay in replays:
        ns = sorted({r["n"] for r in records if r["replay"] == replay})
        runs = [np.array([r["updates"] for r in records if r["replay"] == replay and r["n"] == n]) for n in ns]
        size = 2.0 ** (np.array(ns) + 1) - 2
        color, label = _CLIFFWALK_STYLE.get(replay, (None, None))
        line, = ax.plot(size, [np.median(u) for u in runs], "o-", color=color, lw=2, ms=4,
                        label=replay if label is None else tr(label))
        ax.fill_between(size, [u.min() for u in runs], [u.max() for u in runs], color=line.get_color(),
                        alpha=0.15, lw=0)
    ns = sorted({r["n"] for r in records})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([2 ** (n + 1) - 2 for n in ns], [f"{2 ** (n + 1) - 2:,}" for n in ns], fontsize=7)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(tr("transitions in the replay memory, N = 2^(n+1) - 2 (log scale)"))
    ax.set_ylabel(tr("updates until mean (Q - Q*)² < 1e-3 (log scale)"))
    top = ax.secondary_xaxis("top", functions=(lambda N: np.log2(np.maximum(N, 1e-9) + 2) - 1,
                                               lambda n: 2.0 ** (np.asarray(n) + 1) - 2))
    top.set_xticks(ns, [str(n) for n in ns], fontsize=7)
    top.xaxis.set_minor_locator(NullLocator())
    top.set_xlabel(tr("chain length n"))
    ax.set_title(tr("Blind Cliffwalk: median over seeds, band from min to max"), fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    if created:
        ax.figure.tight_layout()
    return ax.figure
