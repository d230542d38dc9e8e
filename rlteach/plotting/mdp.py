"""Plots of the MDP foundations (notebook 01): the Bellman backup, sweep after sweep, converging to the exact
solve of the Bellman equation. Each function returns the figure (never shows it)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from rlteach.messages import tr


def plot_bellman_iteration(history, errors, exact, gamma) -> plt.Figure:
    """Iterative policy evaluation, from ``ChainMDP.iterate_bellman``.

    history  [num_sweeps + 1, S]: V after j sweeps (row j), for the S states to draw (say, the non-terminal ones)
    errors   [num_sweeps + 1]: max_s |V_j(s) - V(s)| after j sweeps
    exact    [S]: the exact V of the same states (the linear solve), drawn as dotted lines
    gamma    the discount: the right panel draws errors[0] * gamma^j, the contraction's guarantee

    Left: each state's V_j against the sweep j, settling on its exact value (the sweeps until the error is below
    0.1% of its start, where the lines have become flat). Right: every sweep's error on a log scale, a
    line that each sweep multiplies by gamma or less (j, not k: k counts steps ahead, in gamma^k).
    """
    history, errors, exact = (np.asarray(x, dtype=float) for x in (history, errors, exact))
    if history.ndim != 2 or errors.shape != (history.shape[0],) or exact.shape != (history.shape[1],):
        raise ValueError(f"history must be [K, S], errors [K] and exact [S]; got shapes {history.shape}, "
                         f"{errors.shape} and {exact.shape}")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma={gamma!r} is outside the allowed range [0, 1]")
    j = np.arange(history.shape[0])                                # the sweep
    small = np.flatnonzero(errors <= 1e-3 * errors[0])
    K = max(small[0], 5) + 1 if len(small) else len(j)             # sweeps drawn on the left
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for s in range(history.shape[1]):
        (line,) = left.plot(j[:K], history[:K, s], "o-", ms=3)
        left.plot([0, K - 1], [exact[s], exact[s]], ":", color=line.get_color(), lw=1)
        left.annotate(f"s={s}", (K - 1, exact[s]), xytext=(6, 0), textcoords="offset points", va="center",
                      color=line.get_color(), fontsize=8)                  # a label at the line's end
    left.set_xlabel(tr("sweep j"))
    left.set_ylabel("V_j(s)")
    left.set_title(tr("Bellman backups from V = 0 (dotted: the linear solve)"))
    left.set_xlim(-0.5, K + 2.5)
    shown = errors > 0
    right.semilogy(j[shown], errors[shown], "o-", ms=3, label="max_s |V_j(s) - V(s)|")
    right.semilogy(j, errors[0] * gamma ** j, "k--", lw=1, label=f"errors[0] * gamma^j (gamma={gamma:g})")
    right.set_xlabel(tr("sweep j"))
    right.set_ylabel(tr("error (log scale)"))
    right.set_title(tr("Each sweep multiplies the error by gamma or less"))
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig
