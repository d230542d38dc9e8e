"""The plots every notebook shares: throughput, the system diagrams, bias and variance, learning curves (any
algorithm's TrainResult), gradient noise and film strips. Each function returns the figure (never shows it)."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np

from rlteach.envs import env_spec
from rlteach.messages import N_, language, tr
from rlteach.monitor import algorithm_name

# --- 00 start here: throughput and diagrams --------------------------------------------------------------

_LABEL_GAP_PT = 4   # points between the top of a bar's black line (or the bar) and its number


def _keep_bar_labels_clear(ax, labels, width):
    """Turn the numbers upright if any is wider than a bar (a horizontal one would reach a neighbour's black
    line), then raise the top of the y axis until every number fits inside the axes."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    bar_px = abs(ax.transData.transform((width, 0))[0] - ax.transData.transform((0, 0))[0])
    if any(text.get_window_extent(renderer).width > 0.9 * bar_px for text, _ in labels):
        for text, _ in labels:
            text.set_rotation(90)
    box = ax.get_window_extent(renderer)
    low, high = ax.get_ylim()
    pad = 4 * fig.dpi / 72                                  # pixels left between the highest number and the frame
    for text, top in labels:                               # the number's height (and gap) in pixels is fixed
        above = text.get_window_extent(renderer).height + _LABEL_GAP_PT * fig.dpi / 72
        room = box.height - above - pad
        if room > 0 and top > low:
            high = max(high, low + (top - low) * box.height / room)
    ax.set_ylim(low, high)


def plot_throughput(measurements) -> plt.Figure:
    """Bar plot of env steps/s from ``rlteach.throughput.compare``: one group per N, one bar per mode.

    Each bar is one setting (mode, N); its height is the mean ``steps_per_second`` of its repeats (exactly the
    measurement's, with one repeat) and, with several repeats, a black line spans the lowest to the highest.
    Each bar's mean is written above the top of its black line, clear of it and of the neighbours' lines: turned
    upright when the numbers are wider than the bars (many bars), and the y axis grows to keep them inside."""
    from rlteach.throughput import rates

    by_setting = rates(measurements)                            # (mode, N) -> the repeats' steps/s
    modes = list(dict.fromkeys(mode for mode, _ in by_setting))  # in first-seen order
    sizes = sorted({n for _, n in by_setting})
    repeats = max(len(r) for r in by_setting.values())
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(modes)
    offsets = (np.arange(len(modes)) - (len(modes) - 1) / 2) * width  # side by side within a group
    labels = []                                                 # (text, the top of its bar's black line)
    for mode, offset in zip(modes, offsets, strict=True):
        mine = [(n, r) for (m, n), r in by_setting.items() if m == mode]
        x = [sizes.index(n) + offset for n, _ in mine]
        means = np.array([r.mean() for _, r in mine])
        ax.bar(x, means, width, label=mode)
        if repeats > 1:
            spread = np.array([(r.mean() - r.min(), r.max() - r.mean()) for _, r in mine]).T
            ax.errorbar(x, means, yerr=spread, fmt="none", ecolor="black", elinewidth=1, capsize=2)
        for xi, mean, (_, r) in zip(x, means, mine, strict=True):   # the mean, above the bar and its line
            top = max(mean, r.max())
            labels.append((ax.annotate(f"{mean / 1000:.1f}k", (xi, top), xytext=(0, _LABEL_GAP_PT),
                                       textcoords="offset points", ha="center", va="bottom", fontsize=8), top))
    ax.set_xticks(range(len(sizes)), [str(n) for n in sizes])
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_xlabel(tr("N = number of envs (vector modes) or actor processes"))
    ax.set_ylabel(tr("env steps per second, mean of {repeats} repeats", repeats=repeats) if repeats > 1
                  else tr("env steps per second"))
    ax.set_title(tr("Experience collection speed on this machine\n"
                    "(black lines: from the slowest to the fastest repeat)") if repeats > 1
                 else tr("Experience collection speed on this machine"), fontsize=11)
    ax.legend(title=tr("mode"), loc="upper left", bbox_to_anchor=(1.0, 1.0))   # beside the bars, never over them
    ax.margins(y=0.15)
    fig.tight_layout()
    _keep_bar_labels_clear(ax, labels, width)
    return fig


def _italic() -> str:
    """The style of a diagram's side note: italic, but upright in Chinese (a CJK font has no italic, and
    matplotlib would draw the Chinese in an italic font without it: empty boxes)."""
    return "normal" if language() == "zh" else "italic"


def _diagram_box(ax, xy, text, color, size=(2.0, 0.9)):
    """A rounded box centred at ``xy`` with ``text`` in it."""
    from matplotlib.patches import FancyBboxPatch

    (x, y), (w, h) = xy, size
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05",
                                facecolor=color, edgecolor="black"))
    ax.text(x, y, text, ha="center", va="center", fontsize=10)


def _diagram_arrow(ax, start, end, text="", offset=(0.0, 0.15), color="black", both=False):
    """An arrow from ``start`` to ``end`` (both ways if ``both``) labelled ``text`` near its middle."""
    style = "<|-|>" if both else "-|>"
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle=style, color=color, lw=1.5))
    if text:
        middle = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
        ax.text(*middle, text, ha="center", va="center", fontsize=9, color=color)


def plot_system_diagram() -> plt.Figure:
    """The four parts of a distributed RL system and the one-way data flow between them:
    env -> actor -> transitions -> replay / queue -> learner -> new parameters -> actors."""
    fig, ax = plt.subplots(figsize=(10, 4.5))
    wide = (2.2, 0.9)
    for k in (2, 1):  # shadows: there are many actors, each with its own environment
        _diagram_box(ax, (1.3 + 0.12 * k, 3.2 + 0.12 * k), "", "#e6e6e6", wide)
        _diagram_box(ax, (5.0 + 0.12 * k, 3.2 + 0.12 * k), "", "#e6e6e6", wide)
    _diagram_box(ax, (1.3, 3.2), tr("Environment\n(CartPole, a game, ...)"), "#cde4f7", wide)
    _diagram_box(ax, (5.0, 3.2), tr("Actor\n(a copy of the policy)"), "#d5f0d0", wide)
    _diagram_box(ax, (8.8, 3.2), tr("Experience replay\nor queue"), "#fbe3c4", wide)
    _diagram_box(ax, (8.8, 0.9), tr("Learner\n(loss, optimizer)"), "#f4cccc", wide)
    _diagram_arrow(ax, (2.75, 3.35), (3.8, 3.35), tr("obs, reward"), offset=(0, 0.22))
    _diagram_arrow(ax, (3.8, 3.0), (2.75, 3.0), tr("action"), offset=(0, -0.2))
    _diagram_arrow(ax, (6.25, 3.2), (7.55, 3.2), tr("transitions"), offset=(0, 0.2))
    _diagram_arrow(ax, (8.8, 2.6), (8.8, 1.45), tr("batches"), offset=(0.45, 0))
    _diagram_arrow(ax, (7.55, 0.9), (5.0, 0.9), tr("new parameters"), offset=(0, 0.2), color="tab:red")
    _diagram_arrow(ax, (5.0, 0.9), (5.0, 2.6), color="tab:red")
    ax.text(1.3, 1.6, tr("many actors, each with\nits own environment,\nrun at the same time"),
            ha="center", va="center", fontsize=9, style=_italic())
    ax.set_xlim(0, 10.1)
    ax.set_ylim(0.2, 4.0)
    ax.set_axis_off()
    ax.set_title(tr("A distributed RL system: experience flows right and down, parameters flow back"))
    return fig


def plot_parallelism_diagram() -> plt.Figure:
    """Environment-parallelism (one agent, N envs, one batched forward) next to agent-parallelism
    (N agents, each with its own policy copy and env). Two panels, N = 3 drawn."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    _diagram_box(left, (1.2, 2.0), tr("one agent\n(one policy,\nbatched forward)"), "#d5f0d0", size=(1.8, 1.4))
    for i, y in enumerate((3.4, 2.0, 0.6)):
        _diagram_box(left, (4.2, y), tr("env {i}", i=i), "#cde4f7", size=(1.4, 0.8))
        _diagram_arrow(left, (2.2, 2.0), (3.45, y), both=True)
    left.text(1.2, 0.75, tr("N actions out,\nN observations back"), ha="center", va="center", fontsize=9,
              style=_italic())  # below the agent, clear of the arrows and the env boxes
    left.set_title(tr("environment-parallelism\n(SyncVectorEnv / AsyncVectorEnv)"))
    for i, y in enumerate((3.4, 2.0, 0.6)):
        _diagram_box(right, (1.2, y), tr("agent {i}\n(own policy copy)", i=i), "#d5f0d0", size=(1.8, 0.8))
        _diagram_box(right, (4.2, y), tr("env {i}", i=i), "#cde4f7", size=(1.4, 0.8))
        _diagram_arrow(right, (2.15, y), (3.45, y), both=True)
    right.set_title(tr("agent-parallelism\n(one worker per agent: a thread or a process)"))
    for ax in (left, right):
        ax.set_xlim(0, 5.2)
        ax.set_ylim(0, 4.1)
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def plot_bias_variance(rows) -> plt.Figure:
    """Squared bias, variance and their sum (the mean squared error) of each advantage estimator.

    ``rows`` is what ``rlteach.mdp.bias_variance`` returns: one panel for GAE against lam, one for
    n-step returns against n (where there are any).
    """
    kinds = [k for k in ("gae", "n-step") if any(r["estimator"] == k for r in rows)]
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 3.8), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        sel = [r for r in rows if r["estimator"] == kind]
        x = np.array([r["param"] for r in sel], dtype=float)
        ax.plot(x, [r["bias"] ** 2 for r in sel], "o-", label=tr("bias²"))
        ax.plot(x, [r["variance"] for r in sel], "s-", label=tr("variance"))
        ax.plot(x, [r["mse"] for r in sel], "k^--", label=tr("MSE = bias² + variance"))
        best = sel[int(np.argmin([r["mse"] for r in sel]))]["param"]
        ax.axvline(best, color="0.6", lw=1, ls=":")
        if kind == "n-step":
            ax.set_xscale("log")
        ax.set_xlabel("lam" if kind == "gae" else tr("n (steps before bootstrapping)"))
        ax.set_title(tr("GAE(gamma, lam): lowest MSE at {best:g}", best=best) if kind == "gae"
                     else tr("n-step return: lowest MSE at {best:g}", best=best))
        ax.legend(fontsize=8)
    for ax in axes[0]:
        ax.set_ylabel(tr("error of the advantage estimate"))
    fig.tight_layout()
    return fig


# --- learning curves (every algorithm's TrainResult) -----------------------------------------------------


def _as_groups(runs) -> dict:
    """A TrainResult, a list of them (seeds of one setting) or {label: list} -> {label: list}."""
    if isinstance(runs, dict):
        return {k: list(v) if isinstance(v, list | tuple) else [v] for k, v in runs.items()}
    runs = list(runs) if isinstance(runs, list | tuple) else [runs]
    return {algorithm_name(runs[0].config) if runs else "": runs}


def curve_band(results, x="steps", num_points=200):
    """Mean, lowest and highest over seeds of the evaluation curves, on a common grid of ``x``.

    Each run's curve is its evaluations (x = env steps or seconds, y = mean greedy return), held
    constant between evaluations and, after the run stopped (solved), at its last evaluation: beyond
    ``held_from(results, x)`` the band and the mean include such a held run (``plot_learning_curves`` draws
    that part of the mean dotted and says so in its legend).
    Returns (grid, mean, low, high): the band low..high spans the seeds' own curves, so it never leaves the
    range of the returns the runs reached (a mean +- std band would: above 500 on CartPole, where runs cluster
    at the maximum). low = high = mean for one run; nan before every run's first evaluation.
    """
    if x not in ("steps", "seconds"):
        raise ValueError(f"x={x!r} is not allowed: 'steps' or 'seconds'")
    col = 0 if x == "steps" else 1
    curves = [(np.array([e[col] for e in r.evals]), np.array([e[2] for e in r.evals])) for r in results if r.evals]
    if not curves:
        return np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0)
    grid = np.linspace(0, max(c[0][-1] for c in curves), num_points)
    ys = []
    for xs, y in curves:
        idx = np.searchsorted(xs, grid, side="right") - 1      # the last evaluation at or before each point
        ys.append(np.where(idx >= 0, y[np.clip(idx, 0, None)], np.nan))
    ys = np.array(ys)
    with warnings.catch_warnings():                            # before every run's first evaluation: nan
        warnings.simplefilter("ignore", RuntimeWarning)
        return grid, np.nanmean(ys, 0), np.nanmin(ys, 0), np.nanmax(ys, 0)


BAND_LABEL, STAR_LABEL = N_("shaded: lowest to highest seed"), N_("★ the evaluation that solved it")
HELD_LABEL = N_("dotted: a stopped seed held flat")     # legend entries: shown as tr(BAND_LABEL), ...


def held_from(results, x="steps"):
    """Where ``curve_band`` starts carrying a stopped run forward: the x of the earliest last evaluation among
    ``results`` (a run that solved stops early; on the seconds axis every run ends at its own time). Beyond
    it, the mean and the band include at least one run held flat at its last evaluation; None when no run is
    held anywhere (one run, or every run's last evaluation at the same x)."""
    col = 0 if x == "steps" else 1
    ends = [r.evals[-1][col] for r in results if r.evals]
    return min(ends) if ends and min(ends) < max(ends) else None


def _once(label, artists):
    """``label`` if no artist in ``artists`` has it yet, else "_nolegend_": the legend names a kind once."""
    return "_nolegend_" if any(a.get_label() == label for a in artists) else label


def plot_learning_curves(runs, x="steps", ax=None, threshold=None, show_episodes=True):
    """Learning curves against env steps (``x="steps"``) or wall-clock seconds (``x="seconds"``).

    ``runs``: one TrainResult, a list of them (seeds: the mean line, and a band from the lowest to the highest
    seed, ``curve_band``), or a dict {label: result or list} to compare settings (the legend names the band
    once). A seed that stopped early (solved) is held at its last evaluation up to the end of the longest
    seed: from the first such stop (``held_from``) the mean is drawn dotted, and the legend says why. With a
    single run, its training episode returns are drawn
    faintly behind the evaluations. ``threshold`` (default: the env's reward threshold) is a dashed line.
    Draws into ``ax`` if given; returns the figure.
    """
    groups = _as_groups(runs)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    fig = ax.figure
    for g, (label, results) in enumerate(groups.items()):
        if show_episodes and len(groups) == 1 and len(results) == 1:
            r = results[0]
            ex = r.episode_steps if x == "steps" else r.episode_seconds
            ax.plot(ex, r.episode_returns, ".", color="0.7", ms=3, label=tr("training episodes"))
        grid, mean, low, high = curve_band(results, x)
        if grid.size == 0:              # no evaluation (eval_every=None): no eval line, so no legend entry for one
            continue
        n = len(results)
        stop = held_from(results, x)
        live = grid <= stop if stop is not None else np.ones(grid.size, bool)   # every seed still running
        line, = ax.plot(grid[live], mean[live], lw=2,
                        marker="o" if np.isfinite(mean[live]).sum() == 1 else None,   # one point: a dot
                        label=(tr("eval") if not label else tr("{label} (eval, {n} seeds)", label=label, n=n)
                               if n > 1 else tr("{label} (eval, {n} seed)", label=label, n=n)))
        if not live.all():              # a stopped seed carried forward: dotted, from the last point drawn solid
            tail = slice(max(int(live.sum()) - 1, 0), None)
            ax.plot(grid[tail], mean[tail], lw=2, ls=":", color=line.get_color(),
                    label=_once(tr(HELD_LABEL), ax.lines))
        if n > 1:
            ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2,
                            label=_once(tr(BAND_LABEL), ax.collections))
        # A star at the evaluation that solved it. Runs solved at about the same point would hide each other's
        # stars, so each setting's star is smaller than the one before and drawn above it: concentric stars.
        size = 10 + 5 * (len(groups) - 1 - g)
        for r in results:
            if r.solved:
                sx = r.solved_at_steps if x == "steps" else r.solved_at_seconds
                sy = next((e[2] for e in r.evals if e[0] == r.solved_at_steps), np.nan)
                ax.plot([sx], [sy], "*", color=line.get_color(), ms=size, markeredgecolor="white",
                        markeredgewidth=0.8, zorder=3 + g, label=_once(tr(STAR_LABEL), ax.lines))
    if threshold is None:
        first = next((rs[0] for rs in groups.values() if rs), None)
        if first is not None:
            threshold = env_spec(first.config.env_id).reward_threshold
    if threshold is not None:
        ax.axhline(threshold, color="k", ls="--", lw=1, label=tr("solved ({threshold:g})", threshold=threshold))
    ax.set_xlabel(tr("env steps") if x == "steps" else tr("seconds (wall clock, everything included)"))
    ax.set_ylabel(tr("return"))
    siblings = ax.get_shared_y_axes().get_siblings(ax)       # headroom above the data, where the legend goes
    low_y, high_y = min(a.dataLim.y0 for a in siblings), max(a.dataLim.y1 for a in siblings)
    span = (high_y - low_y) or 1.0                            # from the data: panels that share y never compound
    ax.set_ylim(low_y - 0.05 * span, high_y + 0.45 * span)
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    return fig


# --- 02 policy gradient: gradient noise with and without a baseline; an agent playing ------------------


_BASELINE_NAMES = {"none": N_("none"), "constant": N_("constant"), "critic": N_("critic")}   # shown through tr


def plot_gradient_variance(grads) -> plt.Figure:
    """How noisy policy gradient estimates are, per baseline. ``grads`` is ``{baseline: [num_batches, P]}``
    (``rlteach.pg_variance.gradient_samples(...).grads``, or the GradientSamples itself).

    Left: the total variance, sum over the P parameters of each coordinate's variance across batches.
    Right: each estimate projected on one common direction (the mean of all estimates, normalised): the
    histograms share their centre (every baseline is unbiased) and differ in width (variance).
    """
    grads = getattr(grads, "grads", grads)
    names = list(grads)
    total = [float(grads[n].var(0).sum()) for n in names]
    direction = np.concatenate([grads[n] for n in names]).mean(0)
    direction = direction / (np.linalg.norm(direction) + 1e-12)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    colors = [f"C{i}" for i in range(len(names))]
    shown = {n: tr(_BASELINE_NAMES[n]) if n in _BASELINE_NAMES else n for n in names}   # the keys stay English
    bars = left.bar([shown[n] for n in names], total, color=colors)
    left.bar_label(bars, labels=[f"{v:,.0f}" if v >= 100 else f"{v:.3g}" for v in total], fontsize=9)
    left.set_ylabel(tr("total variance of the estimate"))
    left.set_xlabel(tr("baseline"))
    left.set_title(tr("Noise in one batch's gradient estimate"))
    left.margins(y=0.15)
    projections = {n: grads[n] @ direction for n in names}
    everything = np.concatenate(list(projections.values()))
    bins = np.linspace(*np.percentile(everything, [1, 99]), 41)      # the rare far tails are left out
    for name, color in zip(names, colors, strict=True):
        p = projections[name]
        right.hist(p, bins=bins, histtype="step", lw=2, color=color,
                   label=tr("{name} (std {std:.3g})", name=shown[name], std=p.std()))
        right.axvline(p.mean(), color=color, lw=1.5, ls="--")
    right.set_xlabel(tr("estimate projected on the mean gradient's direction (1% tails not drawn)"))
    right.set_ylabel(tr("batches"))
    right.set_title(tr("Same centre (dashed: means), different spread"))
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


_ENDINGS = {"terminated": N_("terminated"), "truncated": N_("truncated")}   # an episode's ending as a panel names it


def plot_filmstrip(frames, num=6, title=None, steps=None, ending=None) -> plt.Figure:
    """``num`` frames (RGB arrays), evenly spaced from first to last, side by side. ``steps`` (one number per
    frame, e.g. the env step it shows) labels each panel; by default the index in ``frames``. ``ending`` (e.g.
    ``RecordedEpisode.ending``, "terminated") is added to the last panel's label: what the last frame shows."""
    if len(frames) == 0:
        raise ValueError("frames is empty: record at least one frame (rlteach.monitor.record_episode)")
    picks = np.unique(np.linspace(0, len(frames) - 1, min(num, len(frames))).round().astype(int))
    fig, axes = plt.subplots(1, len(picks), figsize=(2.2 * len(picks), 1.9), squeeze=False)
    shown = tr(_ENDINGS[ending]) if ending in _ENDINGS else ending        # "terminated" stays the value
    for ax, i in zip(axes[0], picks, strict=True):
        ax.imshow(frames[i])
        last = ending and i == len(frames) - 1
        step = steps[i] if steps is not None else i
        ax.set_title(tr("step {step}: {ending}", step=step, ending=shown) if last else tr("step {step}", step=step),
                     fontsize=9)
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def animate_frames(frames, fps=20, width=4.0) -> str:
    """An HTML/JavaScript player (play, pause, step) for a list of RGB frames: display it with
    ``IPython.display.HTML(...)``. The HTML embeds every frame as a PNG; thin out long episodes first."""
    from matplotlib import animation

    if len(frames) == 0:
        raise ValueError("frames is empty: record at least one frame (rlteach.monitor.record_episode)")
    h, w = np.asarray(frames[0]).shape[:2]
    fig = plt.figure(figsize=(width, width * h / w), dpi=72)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    image = ax.imshow(frames[0])

    def show(i):
        image.set_data(frames[i])
        return (image,)

    anim = animation.FuncAnimation(fig, show, frames=len(frames), interval=1000 / fps, blit=True)
    try:
        return anim.to_jshtml(fps=fps)
    finally:
        plt.close(fig)
