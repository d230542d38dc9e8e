"""Plots of the communication lab (notebook 06, ``rlteach.lab``): what one step is made of, the backends'
throughput and start-up over repeats, the transports' round trip and streaming rate against payload size, what
Ape-X's two knobs, ``env_steps_per_weight_sync`` and ``transitions_per_message``, do to its throughput, policy
lag, message and weight counts, and bytes moved, A3C's parameter-server runs (staleness, learning per env step
and per second), and the timeline of a synchronous parameter server with the waits of its workers drawn."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker

from rlteach.messages import tr
from rlteach.plotting.a3c import curves_by_steps_and_seconds, plot_staleness, plot_timeline
from rlteach.timeline import round_waits

# --- what one step costs, and the three backends over repeats ----------------------------------------------


def plot_step_costs(costs, rates):
    """Two panels of horizontal bars, each labelled with its number (so no tick label is squeezed): left, the
    cost of each part of a step in microseconds (``costs``: {name: seconds}, log scale); right, env steps per
    second of each way to step CartPole (``rates``: {name: steps/s})."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 0.5 * max(len(costs), len(rates)) + 1.6))
    names = list(costs)
    bars = left.barh(names, [costs[n] * 1e6 for n in names], color="tab:blue")
    left.bar_label(bars, labels=[f"{costs[n] * 1e6:,.1f}" for n in names], padding=3, fontsize=8)
    left.set_xscale("log")
    left.set_xlim(right=left.get_xlim()[1] * 3)                  # room for the labels
    left.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    left.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    left.xaxis.set_minor_formatter(ticker.NullFormatter())       # less than a decade labelled its minor ticks
    left.set_xlabel(tr("microseconds (log scale)"))
    left.set_title(tr("What one step is made of, on this machine"))
    labels = list(rates)
    bars = right.barh(labels, [rates[n] for n in labels], color="tab:orange")
    right.bar_label(bars, labels=[f"{rates[n]:,.0f}" for n in labels], padding=3, fontsize=8)
    right.set_xlim(0, 1.2 * max(rates.values()))
    right.set_xlabel(tr("env steps per second"))
    right.set_title(tr("CartPole, four ways (notebook 00)"))
    for ax in (left, right):
        ax.invert_yaxis()                                          # the first name on top
    fig.tight_layout()
    return fig


def plot_backends(speed, start):
    """Two panels, one bar per backend at the mean of its repeats and a dot per repeat: left, env steps per
    second once every actor runs (``speed``: {backend: [steps/s, ...]}); right, seconds until every actor
    delivered its first unroll (``start``: {backend: [seconds, ...]})."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for ax, values, ylabel in ((axes[0], speed, tr("env steps per second, once all actors run")),
                               (axes[1], start, tr("seconds"))):
        names = list(values)
        ax.bar(names, [np.mean(values[n]) for n in names], color=[f"C{i}" for i in range(len(names))], alpha=0.5)
        for i, n in enumerate(names):
            ax.plot(np.full(len(values[n]), i), values[n], "o", color="black", ms=4,
                    label=tr("one run") if i == 0 else None)
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    repeats = max(len(v) for v in speed.values())
    axes[0].set_title(tr("Steady throughput (bars: the mean of {repeats} runs)", repeats=repeats))
    axes[1].set_title(tr("Start-up: until every actor delivered an unroll"))
    fig.tight_layout()
    return fig


# --- the transports: one payload to another process ------------------------------------------------------


def plot_transport(rows):
    """Two log-log panels against payload size: the delivery round trip and the streaming rate, one line per
    transport, weight payloads as circles and trajectories as squares."""
    fig, (ax_lat, ax_rate) = plt.subplots(1, 2, figsize=(12, 5.5))
    for transport in dict.fromkeys(r["transport"] for r in rows):
        mine = sorted((r for r in rows if r["transport"] == transport), key=lambda r: r["payload_bytes"])
        x = [r["payload_bytes"] for r in mine]
        line, = ax_lat.plot(x, [r["latency_s"] * 1e3 for r in mine], "-", alpha=0.6, label=transport)
        ax_rate.plot(x, [r["bytes_per_s"] / 1e6 for r in mine], "-", alpha=0.6, color=line.get_color(),
                     label=transport)
        for r in mine:
            marker = "s" if r["kind"] == "trajectory" else "o"
            ax_lat.plot(r["payload_bytes"], r["latency_s"] * 1e3, marker, color=line.get_color())
            ax_rate.plot(r["payload_bytes"], r["bytes_per_s"] / 1e6, marker, color=line.get_color())
    named = {tr(r["payload"]): r["payload_bytes"] for r in rows}      # the payloads' names: N_-marked keys
    for ax in (ax_lat, ax_rate):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(tr("payload (bytes of array data)"))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(title=tr("circles: weights, squares: trajectories"), fontsize=8, title_fontsize=8)
        top = ax.secondary_xaxis("top")                 # which payload sits where
        top.set_xticks(list(named.values()), list(named), rotation=90, fontsize=7)
        top.minorticks_off()
    ax_lat.set_ylabel(tr("delivery round trip, median (ms)"))
    ax_lat.set_title(tr("Round trip: flat for small payloads (a fixed cost per message),\n"
                        "rising with size once copying dominates"))
    ax_rate.set_ylabel(tr("streaming throughput (MB/s)"))
    ax_rate.set_title(tr("Streaming: bytes per second\nagainst payload size"))
    fig.tight_layout()
    return fig


# --- the knobs of Ape-X: env_steps_per_weight_sync and transitions_per_message --------------------------


def _label_log_axis(ax):
    """Labelled ticks, as plain numbers, on a log or symlog y-axis: at 1, 2 and 5 times each power of ten, or
    at every multiple 1 to 9 when the axis spans less than a decade (a policy lag of 11 to 26 would otherwise
    get no labelled tick at all)."""
    low, high = ax.get_ylim()
    low = max(low, 1.0) if ax.get_yscale() == "symlog" else max(low, 1e-300)
    subs = (1.0, 2.0, 5.0) if high >= 10 * low else tuple(float(m) for m in range(1, 10))
    if ax.get_yscale() == "symlog":
        ax.yaxis.set_major_locator(ticker.SymmetricalLogLocator(base=10, linthresh=1, subs=subs))
    else:
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def plot_knobs(rows):
    """2 x 4 panels, top row ``env_steps_per_weight_sync`` varied, bottom row ``transitions_per_message`` varied
    (log x): env steps/s, policy lag, counts (messages and weight copies) and megabytes moved."""
    fig, axes = plt.subplots(2, 4, figsize=(17, 7.5))
    titles = {"env_steps_per_weight_sync": tr("rarer weight pulls: fewer copies, larger lag"),
              "transitions_per_message": tr("bigger messages: fewer of them, same transitions")}
    for axrow, varied in zip(axes, ("env_steps_per_weight_sync", "transitions_per_message"), strict=True):
        mine = sorted((r for r in rows if r["varied"] == varied), key=lambda r: r[varied])
        if not mine:
            for ax in axrow:
                ax.set_visible(False)
            continue
        x = [r[varied] for r in mine]
        fixed = "transitions_per_message" if varied == "env_steps_per_weight_sync" else "env_steps_per_weight_sync"
        ax = axrow[0]
        ax.plot(x, [r["steps_per_s"] for r in mine], "o-", label=tr("wall (start-up included)"))
        ax.plot(x, [r["steady_steps_per_s"] for r in mine], "s--", label=tr("steady"))
        ax.set_ylabel(tr("env steps/s"))
        ax.set_ylim(bottom=0)
        ax.set_title(tr("Throughput ({fixed} = {value})", fixed=fixed, value=mine[0][fixed]))
        ax = axrow[1]
        ax.plot(x, [r["lag_mean"] for r in mine], "o-", label=tr("mean"))
        ax.plot(x, [r["lag_p90"] for r in mine], "s--", label=tr("90th percentile"))
        ax.set_yscale("symlog", linthresh=1)
        ax.set_ylabel(tr("policy lag (learner updates)"))
        ax.set_title(tr("Policy lag per message"))
        ax = axrow[2]
        ax.plot(x, [r["messages"] for r in mine], "o-", label=tr("messages"))
        ax.plot(x, [r["weight_pulls"] for r in mine], "s--", label=tr("weight copies"))
        ax.set_yscale("log")
        ax.set_ylabel(tr("count per run"))
        ax.set_title(titles[varied])
        ax = axrow[3]
        ax.plot(x, [r["message_bytes"] / 1e6 for r in mine], "o-", label=tr("messages (pickled)"))
        ax.plot(x, [r["weight_bytes"] / 1e6 for r in mine], "s--", label=tr("weight copies"))
        ax.set_yscale("log")
        ax.set_ylabel(tr("MB moved per run"))
        ax.set_title(tr("Bytes moved ({env_steps:,} env steps)", env_steps=mine[0]["env_steps"]))
        for ax in axrow[1:]:
            _label_log_axis(ax)
        for ax in axrow:
            ax.set_xscale("log")
            ax.set_xlabel(tr("{varied} (env steps)", varied=varied) if varied == "env_steps_per_weight_sync"
                          else tr("{varied} (transitions)", varied=varied))
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle(tr("Ape-X on CartPole-v1: the weight-sync interval and the message size"))
    fig.tight_layout()
    return fig


# --- A3C's parameter server: staleness and learning; the synchronous server's waits ------------------------


def plot_server_runs(runs):
    """Three panels for A3C runs {label: result} (notebook 06, section 4): the staleness of the applied
    gradients (fractions), the evaluations against env steps and against wall-clock seconds. A run has the
    same colour in every panel; the curves share ONE legend, under the panels, where it covers no data."""
    if not isinstance(runs, dict) or not runs:
        raise TypeError(f"runs must be a non-empty dict {{label: result}}, got {type(runs).__name__}")
    fig, (stale, by_steps, by_seconds) = plt.subplots(1, 3, figsize=(17, 4.8))
    plot_staleness(runs, ax=stale, normalize=True)
    stale.set_ylim(0, 1.5)                                         # the legend sits above the bars (at most 1)
    stale.set_yticks(np.linspace(0, 1, 6))                         # a fraction: no tick above 1
    stale.legend(fontsize=8, loc="upper right")
    stale.set_title(tr("Staleness of the applied gradients"))
    curves_by_steps_and_seconds(runs, by_steps, by_seconds, (tr("Per env step"), tr("Per second, everything included")))
    for ax in (by_steps, by_seconds):
        low, high = ax.dataLim.y0, ax.dataLim.y1                  # no legend inside: headroom for the stars only
        ax.set_ylim(low - 0.05 * (high - low or 1), high + 0.1 * (high - low or 1))
    fig.tight_layout(rect=(0, 0.08, 1, 1))                        # the bottom 8% is the legend's
    return fig


# --- the synchronous parameter server: who waits for whom -------------------------------------------------


def plot_sync_timeline(result, max_seconds=None, ax=None):
    """``plot_timeline`` of a SYNCHRONOUS A3C run (``a3c.Config(sync=True)``), with the part of each cycle's
    ``rollout`` bar that its pull spent waiting for the other workers' pushes (``timeline.round_waits``)
    drawn over it, grey and hatched: the bar then shows the wait and the rollout apart. Returns the figure."""
    if not getattr(result.config, "sync", False):
        raise ValueError("plot_sync_timeline draws a synchronous run: its result.config.sync must be True, "
                         f"got {getattr(result.config, 'sync', None)!r}; use plot_timeline for the others")
    fig = plot_timeline(result, max_seconds=max_seconds, ax=ax)
    ax = fig.axes[0] if ax is None else ax
    rows = result.records["timeline"]
    workers = sorted({row.who for row in rows})                    # plot_timeline's rows: worker 0 on top
    label, all_waits = tr("waiting for the round (in the pull)"), round_waits(rows)
    for y, who in enumerate(workers):
        waits = [(row.start, wait) for row, wait in zip(rows, all_waits, strict=True)
                 if row.who == who and wait > 0]
        if waits:
            ax.broken_barh(waits, (y - 0.35, 0.7), facecolors="0.85", edgecolor="0.4", hatch="///", lw=0.5,
                           label=label)
            label = None                                           # one legend entry
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return fig
