"""ipywidgets explorers for the notebooks. Each is a small class: sliders, a matplotlib figure redrawn
when a slider moves, and the numbers behind the plot kept as attributes so a test can check them.
Display one in a notebook by leaving it as the last expression of a cell (or ``display(explorer)``).

The figure is shown as an ``ipywidgets.Image`` holding a PNG, redrawn in place: it looks the same in
JupyterLab and VS Code, and needs no interactive matplotlib backend. Where no kernel runs (GitHub, nbviewer, a
PDF) the output shows the figure the explorer started with (LiveView: the last one), a plain PNG. The parts the
explorers are built from (sliders, the PNG, the output for both kinds of reader, the CSS hooks a browser test
finds them by) are in ``rlteach.widget_parts``."""

from __future__ import annotations

import html

import ipywidgets as w
import numpy as np
from matplotlib.figure import Figure

from rlteach import side_by_side
from rlteach.advantage import gae
from rlteach.envs import DEFAULT_DELAY_MS
from rlteach.mdp import ChainMDP
from rlteach.messages import tr, tr_in
from rlteach.monitor import ALGORITHMS
from rlteach.plotting import plot_learning_curves, plot_priorities, plot_vtrace, priority_table, vtrace_table
from rlteach.widget_controls import config_controls
from rlteach.widget_parts import (
    STYLE,
    Shown,
    draw_empty_figure,
    empty_figure_text,
    figure_png,
    grid_slider,
    hook,
    hook_explorer,
    redraw_on_change,
    unit_slider,
)
from rlteach.workers import ALL_BACKENDS, BACKENDS


class AdvantageExplorer(Shown):
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
        self.gamma, self.lam = unit_slider(gamma, "gamma", 0.01), unit_slider(lam, "lam", 0.01)
        self.image = w.Image(format="png")
        self.widget = w.VBox([w.HBox([self.gamma, self.lam]), self.image])
        hook_explorer(self, "advantage", {"gamma": self.gamma, "lam": self.lam})
        self.figure = Figure(figsize=(9, 4.5))
        self.ax = self.figure.add_subplot()
        self.lines = {}
        redraw_on_change(self, self.gamma, self.lam)

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
        ax.bar(t, data["rewards"], color="0.85", label=tr("reward r_t"))
        ax.plot(t, data["values"], "k:", label=tr("critic V(s_t)"))
        self.lines = {
            "td": ax.plot(t, data["td (lam=0)"], "o-", color="tab:blue", alpha=0.5, label=tr("TD error (lam=0)"))[0],
            "mc": ax.plot(t, data["monte carlo (lam=1)"], "s-", color="tab:green", alpha=0.5,
                          label=tr("Monte Carlo (lam=1)"))[0],
            "gae": ax.plot(t, data["gae"], "D-", color="tab:red", lw=2.5,
                           label=f"GAE (lam={self.lam.value:.2f})")[0],
        }
        for i in np.flatnonzero(self.rollout["terminated"]):
            ax.axvline(i + 0.5, color="k", lw=1)
        for i in np.flatnonzero(self.rollout["truncated"] & ~self.rollout["terminated"]):
            ax.axvline(i + 0.5, color="k", lw=1, ls="--")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel(tr("step t of the rollout (solid line: terminated, dashed: truncated)"))
        ax.set_ylabel(tr("advantage estimate"))
        ax.set_title(tr("GAE along one rollout, gamma={gamma:.2f}", gamma=self.gamma.value))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8, ncol=5, frameon=False)
        self.figure.subplots_adjust(bottom=0.3)
        self.image.value = figure_png(self.figure)


class PriorityExplorer(Shown):
    """Sliders for alpha and beta redraw the sampling probabilities P(i) and importance weights w_i of a small
    replay of fixed TD errors (12 transitions unless given), with ``rlteach.plotting.plot_priorities``.

    Besides the three bar plots, the title gives the share of the samples the ``top`` transitions with the
    largest |delta| take: 1/N each at alpha = 0 (uniform), most of the batch at alpha = 1. The weights w_i
    are divided by their maximum over all N transitions (as if the batch held every transition).
    """

    TD_ERRORS = (0.3, 2.5, 0.1, 0.8, 0.05, 4.0, 0.2, 0.6, 1.2, 0.1, 0.4, 0.15)

    def __init__(self, alpha=0.6, beta=0.4, td_errors=TD_ERRORS, top=3, eps=1e-3):
        self.td_errors, self.top, self.eps = np.asarray(td_errors, dtype=float), top, eps
        self.alpha = unit_slider(alpha, tr("alpha (priority)"), 0.05)
        self.beta = unit_slider(beta, tr("beta (correction)"), 0.05)
        self.image = w.Image(format="png")
        self.widget = w.VBox([w.HBox([self.alpha, self.beta]), self.image])
        hook_explorer(self, "priority", {"alpha": self.alpha, "beta": self.beta})
        self.figure = Figure(figsize=(13, 4.2))
        self.axes = self.figure.subplots(1, 3)
        redraw_on_change(self, self.alpha, self.beta)

    def compute(self) -> dict:
        """The numbers behind the plot: p, P, w and each share of the update (``priority_table``), and
        ``top_share``, the probability that one sample is one of the ``top`` largest-|delta| transitions."""
        data = priority_table(self.td_errors, self.alpha.value, self.beta.value, self.eps)
        largest = np.argsort(-data["p"], kind="stable")[: self.top]
        data["top"], data["top_share"] = largest, float(data["P"][largest].sum())
        return data

    def redraw(self, change=None):
        self.data = self.compute()
        for ax in self.axes:
            ax.clear()
        plot_priorities(self.td_errors, self.alpha.value, self.beta.value, self.eps, self.top, axes=self.axes)
        n = len(self.td_errors)
        self.figure.suptitle(tr("alpha = {alpha:.2f}, beta = {beta:.2f}: the {top} largest |δ| (red) take "
                                "{share:.0%} of the samples (uniform: {uniform:.0%})", top=self.top,
                                share=self.data["top_share"], uniform=self.top / n, **self.values()), fontsize=11)
        self.figure.tight_layout()
        self.image.value = figure_png(self.figure)


class VtraceExplorer(Shown):
    """Sliders for rho-bar, c-bar and how far the target policy pi has drifted from the behaviour policy mu
    redraw V-trace along one fixed unroll of ``len(MU)`` steps (``rlteach.plotting.plot_vtrace``).

    The unroll is made up and fixed: at step t the actor took an action to which mu gave probability
    ``MU[t]``; pi's logit for that action is mu's plus ``drift * SIDE[t]`` (SIDE = +1: pi likes it more than mu
    did, -1: less), so drift 0 is on-policy. Rewards, the critic's values V(x_t), V(x_T) and gamma are fixed too.
    The plot shows pi/mu with the clipped weights rho_t and c_t, and V(x_t), the n-step return (no correction),
    v_s with these clips and v_s without clipping. ``compute()`` returns the numbers (``vtrace_table``)."""

    MU = (0.7, 0.4, 0.8, 0.5, 0.6, 0.3, 0.7, 0.5)
    SIDE = (1, -1, 1, -1, -1, 1, -1, 1)
    REWARDS = (0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0)
    VALUES = (2.1, 2.8, 2.7, 2.4, 2.3, 2.9, 1.6, 2.2)
    BOOTSTRAP, GAMMA = 1.2, 0.9

    def __init__(self, clip_rho=1.0, clip_c=1.0, drift=1.0):
        self.clip_rho = grid_slider(clip_rho, -1, 1, 0.05, "rho-bar", log=True)
        self.clip_c = grid_slider(clip_c, -1, 1, 0.05, "c-bar", log=True)
        self.drift = grid_slider(drift, 0.0, 3.0, 0.1, tr("drift of pi from mu"), fmt=".1f")
        self.image = w.Image(format="png")
        self.widget = w.VBox([w.HBox([self.clip_rho, self.clip_c, self.drift]), self.image])
        hook_explorer(self, "vtrace", {"clip_rho": self.clip_rho, "clip_c": self.clip_c, "drift": self.drift})
        self.figure = Figure(figsize=(13, 5.0))
        self.axes = self.figure.subplots(1, 2)
        redraw_on_change(self, self.clip_rho, self.clip_c, self.drift)

    def policies(self, drift=None) -> tuple:
        """(mu(a_t|x_t), pi(a_t|x_t)) of the actions taken, for ``drift`` (default: the slider's)."""
        drift = self.drift.value if drift is None else drift
        mu = np.array(self.MU)
        logit = np.log(mu / (1 - mu)) + drift * np.array(self.SIDE)
        return mu, 1 / (1 + np.exp(-logit))

    def compute(self) -> dict:
        """The numbers behind the plot (``vtrace_table``) plus ``mu``, ``pi`` and ``gap``, the largest
        |v_s - n-step return|: how far the correction moved the targets."""
        mu, pi = self.policies()
        n = len(mu)
        data = vtrace_table(np.log(mu), np.log(pi), self.REWARDS, np.full(n, self.GAMMA), self.VALUES,
                            self.BOOTSTRAP, self.clip_rho.value, self.clip_c.value)
        data.update(mu=mu, pi=pi, gap=float(np.abs(data["vs"] - data["n_step"]).max()))
        return data

    def redraw(self, change=None):
        self.data = self.compute()
        for ax in self.axes:
            ax.clear()
        plot_vtrace(self.data, axes=self.axes)
        title = tr("drift {drift:.1f}, rho-bar {clip_rho:.2f}, c-bar {clip_c:.2f}: V-trace moves the targets by up to "
                   "{gap:.3f} from the n-step return", gap=self.data["gap"], **self.values())
        if self.clip_c.value > self.clip_rho.value:       # the math runs; a training run would refuse the pair
            title += "\n" + tr("c-bar > rho-bar: impala.Config refuses this pair (V-trace assumes rho-bar >= c-bar); "
                               "the plot shows what the formulas give")
        self.figure.suptitle(title, fontsize=11)
        self.figure.tight_layout()
        self.image.value = figure_png(self.figure)


class LiveView(Shown):
    """A callback that redraws the learning curve while ``train`` runs.

        view = LiveView()
        display(view)                                  # or leave it as the last expression of a cell
        result = policy_gradient.train(config, callback=view)

    ``train`` calls it after every evaluation with the result so far; the figure and a status line update
    in place. ``x`` is "steps" or "seconds".
    """

    def __init__(self, x="steps", title=None):
        self.x, self.title = x, title
        self.figure = Figure(figsize=(7, 3.6))
        self.ax = self.figure.add_subplot()
        self.image = w.Image(format="png")
        self.status = w.HTML(tr("waiting for the first evaluation ..."))
        self.widget = hook(w.VBox([hook(self.status, "status"), hook(self.image, "figure")]), "live-view")
        self.calls = 0

    def __call__(self, result_so_far):
        self.calls += 1
        self.ax.clear()
        plot_learning_curves(result_so_far, x=self.x, ax=self.ax)
        if self.title:
            self.ax.set_title(self.title)
        self.figure.tight_layout()
        self.image.value = figure_png(self.figure)
        fields = dict(steps=result_so_far.env_steps, seconds=result_so_far.seconds, last=result_so_far.evals[-1][2])
        self.status.value = (tr("{steps:,} env steps, {seconds:.1f} s, last evaluation {last:.1f} - solved!", **fields)
                             if result_so_far.solved
                             else tr("{steps:,} env steps, {seconds:.1f} s, last evaluation {last:.1f}", **fields))
        self.refresh_after_cell()                     # a reader without a kernel sees the last curve


class TrainExplorer(Shown):
    """Sliders for an algorithm's hyperparameters, a Train button, a short run, and a plot of every run so far.

    ``module`` is an algorithm module (e.g. ``rlteach.policy_gradient``); ``total_steps`` caps each run so
    a click costs seconds, not minutes. ``results`` keeps each run's TrainResult, labelled by its settings; the
    status line shows the last run's label and summary, or why a run did not start.
    ``backends`` replaces the choices of the backend toggle: the default offers ``"thread"`` and
    ``"process"``; ``backends=rlteach.workers.ALL_BACKENDS`` adds ``"ray"`` (Ray must be installed; it starts
    on the first Ray run unless it runs already).
    """

    KIND = "train"                                    # its hook: rlteach-train-explorer (rlteach.widget_parts)

    def __init__(self, module, total_steps=20_000, seed=0, sliders=None, x="steps", backends=None):
        self.module, self.total_steps, self.seed, self.x = module, total_steps, seed, x
        self.sliders = sliders if sliders is not None else config_controls(module.__name__)
        if backends is not None:
            backends = list(backends)
            if "backend" not in self.sliders:
                raise ValueError(f"backends={backends!r}: {module.__name__} has no backend to choose")
            if not backends or set(backends) - set(ALL_BACKENDS):
                raise ValueError(f"backends={backends!r} is not allowed: a non-empty list from {ALL_BACKENDS}")
            toggle = self.sliders["backend"]
            toggle.options = backends
            toggle.value = toggle.value if toggle.value in backends else backends[0]
        self.train_button = hook(w.Button(description=tr("Train"), button_style="primary", icon="play"), "train")
        self.clear_button = hook(w.Button(description=tr("Clear runs")), "clear")
        self.status = hook(w.HTML(tr("Set the sliders and press Train (a run stops at {total_steps:,} env steps).",
                                     total_steps=total_steps)), "status")
        self.image = w.Image(format="png")
        self.figure, self.ax = self.new_axes()
        self.results, self.callback = {}, None        # callback: passed to train (SideBySideExplorer's clock)
        self.train_button.on_click(self.train)
        self.clear_button.on_click(self.clear)
        controls = w.VBox(list(self.sliders.values()) + [w.HBox([self.train_button, self.clear_button])])
        self.widget = w.VBox([controls, self.status, self.image])
        hook_explorer(self, self.KIND, self.sliders)
        self.empty_text = empty_figure_text(self.sliders, self.control_names())   # as they start: Clear runs too
        self.redraw()                                 # empty axes: where the runs will appear

    def control_names(self) -> dict:
        """Control name -> what the empty figure calls it (``empty_figure_text``): none here, a Config field is
        called by its name."""
        return {}

    @staticmethod
    def new_axes():
        figure = Figure(figsize=(7, 3.6))
        return figure, figure.add_subplot()

    def settings(self) -> dict:
        return {name: slider.value for name, slider in self.sliders.items()}

    def configure(self, settings) -> tuple:
        """(the run's label, its module, its Config) for the sliders' ``settings``; a bad one raises."""
        label = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in settings.items())
        return label, self.module, self.module.Config(seed=self.seed, total_steps=self.total_steps, **settings)

    def train(self, _button=None):
        try:
            label, module, config = self.configure(self.settings())
        except (TypeError, ValueError) as exc:                                 # its message may quote '<N>'
            self.status.value = tr("<b>Not started:</b> {error}", error=html.escape(str(exc), quote=False))
            return None
        self.train_button.disabled = True
        self.status.value = tr("training {label} ...", label=label)
        try:
            result = module.train(config, progress=False, callback=self.callback)
        finally:
            self.train_button.disabled = False
        self.results[label] = result
        self.status.value = html.escape(f"{label}: {result.summary()}", quote=False)
        self.redraw()
        return result

    def clear(self, _button=None):
        self.results = {}
        self.figure, self.ax = self.new_axes()        # a fresh figure: tight_layout starts from where it last
        self.redraw()                                 # ended, so reused axes would not come back exactly empty

    def redraw(self):
        self.ax.clear()
        if self.results:
            plot_learning_curves(dict(self.results), x=self.x, ax=self.ax)
        else:                                         # what a reader without a kernel sees (widget_parts)
            draw_empty_figure(self.ax, self.empty_text, self.x)
        self.figure.tight_layout()
        self.image.value = figure_png(self.figure)


class SideBySideExplorer(TrainExplorer):
    """Notebook 07: a workload, its delay, an algorithm, how it runs and how many workers; Train adds the run's
    greedy evaluations against wall-clock seconds (``rlteach.side_by_side``: a run stops when solved, at
    ``max_seconds`` or at ``total_steps``). A combination that does not exist shows the Config's message."""

    KIND = "side-by-side"

    def __init__(self, max_seconds=30.0, total_steps=50_000, seed=0):
        st = STYLE
        sliders = {
            "workload": w.Dropdown(options=[*side_by_side.WORKLOADS], value="sleep", description=tr("workload"),
                                   style=st),
            "delay_ms": grid_slider(DEFAULT_DELAY_MS, 0.1, 5.0, 0.1, "delay_ms (sleep, busy)", fmt=".1f"),
            "algorithm": w.Dropdown(options=list(ALGORITHMS), value="a3c", description=tr("algorithm"), style=st),
            "how": w.ToggleButtons(options=[*side_by_side.A2C_MODES, *BACKENDS], value="thread", style=st,
                                   description=tr("how (A2C: sync/async/vector; others: thread/process)")),
            "workers": w.IntSlider(value=8, min=1, max=8, description=tr("workers or actors (not A2C)"), style=st)}
        super().__init__(side_by_side, total_steps, seed, sliders, x="seconds")
        self.callback = side_by_side.time_limit(max_seconds)
        self.status.value = tr("Choose and press Train (a run stops when solved, or at {max_seconds:g} s).",
                               max_seconds=max_seconds)

    def control_names(self) -> dict:
        """These controls are no Config fields: the empty figure calls them what the live controls say, short."""
        return {"workload": tr("workload"), "algorithm": tr("algorithm"), "how": tr_in("side-by-side control", "how"),
                "workers": tr_in("side-by-side control", "workers")}

    def configure(self, settings) -> tuple:
        s, slow = settings, settings["workload"] != "cartpole"
        name = f"{s['algorithm']}:{s['how']}" + ("" if s["algorithm"] == "a2c" else f"x{s['workers']}")
        delay, fields = s["delay_ms"], {"name": name, "workload": s["workload"], "delay": s["delay_ms"]}
        label = tr("{name} on {workload} ({delay:g} ms)", **fields) if slow else tr("{name} on {workload}", **fields)
        return (label, *side_by_side.contender_config(name, s["workload"], self.seed, self.total_steps, delay))
