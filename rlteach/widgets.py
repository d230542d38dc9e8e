"""ipywidgets explorers for the notebooks. Each is a small class: sliders, a matplotlib figure redrawn
when a slider moves, and the numbers behind the plot kept as attributes so a test can check them.
Display one in a notebook by leaving it as the last expression of a cell (or ``display(explorer)``).

The figure is shown as an ``ipywidgets.Image`` holding a PNG, redrawn in place: it looks the same in
JupyterLab, VS Code and a static render, and needs no interactive matplotlib backend."""

from __future__ import annotations

import io

import ipywidgets as w
import numpy as np
from IPython.display import display
from matplotlib.figure import Figure

from rlteach.advantage import gae
from rlteach.mdp import ChainMDP


class AdvantageExplorer:
    """Sliders for gamma and lam redraw the GAE advantages along one rollout of the chain MDP.

    The rollout (several episodes one after another, some ended by the time limit ``max_steps``) is drawn
    once from ``seed``; the critic is the exact V under the slider's gamma plus ``critic_error`` (an
    imperfect critic). The plot shows the rewards, the critic's values and three advantage estimates:
    the TD error (lam = 0), Monte Carlo (lam = 1) and GAE with the slider's lam. Vertical lines mark
    where an episode ended: solid for terminated, dashed for truncated.
    """

    def __init__(self, gamma=0.9, lam=0.9, p_right=0.6, critic_error=0.3, num_episodes=4, max_steps=6,
                 seed=0):
        self.p_right, self.critic_error = p_right, critic_error
        mdp = ChainMDP(gamma=gamma)
        episodes = mdp.sample_episodes(mdp.policy(p_right), num_episodes, np.random.default_rng(seed),
                                       max_steps=max_steps)
        self.rollout = episodes.as_one_rollout()
        style = {"description_width": "initial"}
        self.gamma = w.FloatSlider(value=gamma, min=0.0, max=1.0, step=0.01, description="gamma",
                                   continuous_update=False, style=style)
        self.lam = w.FloatSlider(value=lam, min=0.0, max=1.0, step=0.01, description="lam",
                                 continuous_update=False, style=style)
        self.image = w.Image(format="png")
        self.widget = w.VBox([w.HBox([self.gamma, self.lam]), self.image])
        self.figure = Figure(figsize=(9, 4.5))
        self.ax = self.figure.add_subplot()
        self.lines = {}
        self.gamma.observe(self.redraw, names="value")
        self.lam.observe(self.redraw, names="value")
        self.redraw()

    def compute(self) -> dict:
        """The numbers behind the plot for the current sliders: values and the three estimates."""
        ro, gamma = self.rollout, self.gamma.value
        mdp = ChainMDP(gamma=gamma)
        V = mdp.values(mdp.policy(self.p_right))
        V[: mdp.length] += self.critic_error
        values, next_values = V[ro["states"]], V[ro["next_states"]]
        args = (ro["rewards"], values, next_values, ro["terminated"], ro["truncated"], gamma)
        return {"rewards": ro["rewards"], "values": values, "td (lam=0)": gae(*args, 0.0),
                "monte carlo (lam=1)": gae(*args, 1.0), "gae": gae(*args, self.lam.value)}

    def redraw(self, change=None):
        data = self.compute()
        self.data = data
        ax = self.ax
        ax.clear()
        t = np.arange(len(data["rewards"]))
        ax.bar(t, data["rewards"], color="0.85", label="reward r_t")
        ax.plot(t, data["values"], "k:", label="critic V(s_t)")
        self.lines = {
            "td": ax.plot(t, data["td (lam=0)"], "o-", color="tab:blue", alpha=0.5, label="TD error (lam=0)")[0],
            "mc": ax.plot(t, data["monte carlo (lam=1)"], "s-", color="tab:green", alpha=0.5,
                          label="Monte Carlo (lam=1)")[0],
            "gae": ax.plot(t, data["gae"], "D-", color="tab:red", lw=2.5,
                           label=f"GAE (lam={self.lam.value:.2f})")[0],
        }
        for i in np.flatnonzero(self.rollout["terminated"]):
            ax.axvline(i + 0.5, color="k", lw=1)
        for i in np.flatnonzero(self.rollout["truncated"] & ~self.rollout["terminated"]):
            ax.axvline(i + 0.5, color="k", lw=1, ls="--")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("step t of the rollout (solid line: terminated, dashed: truncated)")
        ax.set_ylabel("advantage estimate")
        ax.set_title(f"GAE along one rollout, gamma={self.gamma.value:.2f}")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8, ncol=5, frameon=False)
        self.figure.subplots_adjust(bottom=0.3)
        self.image.value = figure_png(self.figure)

    def _ipython_display_(self):
        display(self.widget)


def figure_png(figure) -> bytes:
    """A matplotlib figure as PNG bytes, for an ``ipywidgets.Image``."""
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=90)
    return buf.getvalue()
