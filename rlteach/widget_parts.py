"""The parts every explorer in ``rlteach.widgets`` is built from: the figure as a PNG, a base class that
displays the explorer, sliders laid on a grid through their starting value, and the CSS hooks.

The hooks are CSS classes, so that a test in a real browser (tests/browser/) finds each part of an explorer
by what it is, never by where it sits on the page:

    rlteach-explorer, rlteach-<kind>-explorer   an explorer's outer box; kind: advantage, priority, vtrace,
                                                train, side-by-side (LiveView's box: rlteach-live-view)
    rlteach-control, rlteach-control-<name>     each control; name: the attribute or Config field it sets
                                                (gamma, lam, lr, num_actors, backend, workload, ...)
    rlteach-figure                              the figure: an ipywidgets.Image holding a PNG
    rlteach-train, rlteach-clear                TrainExplorer's buttons: Train, Clear runs
    rlteach-status                              the status line: the last run's settings and summary, or
                                                "Not started:" and the Config's message
"""

from __future__ import annotations

import io

import ipywidgets as w
import numpy as np
from IPython.display import display


def figure_png(figure) -> bytes:
    """A matplotlib figure as PNG bytes, for an ``ipywidgets.Image``."""
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


class Shown:
    """What every explorer shares: a notebook displays its ``widget``."""

    def _ipython_display_(self):
        display(self.widget)


STYLE = {"description_width": "initial"}


def grid_slider(value, lo, hi, step, description, fmt=".2f", log=False):
    """A float slider over [lo, hi] (``log``: over [10^lo, 10^hi], moving its exponent) that starts at ``value``.

    A browser shows a slider's value snapped to its grid min + k * step: a value off the grid shows as a
    neighbour (7e-4 on the grid 10^-4.5, 10^-4.4, ... shows as 6.3e-4). So the grid is laid through ``value``:
    min and max move inwards to the nearest points of the grid through it. Reports only when released."""
    x = np.log10(value) if log else value
    if not lo <= x <= hi:
        raise ValueError(f"{description}={value!r} is outside the slider's range [{lo}, {hi}]" + " (exponents)" * log)
    below, above = int((x - lo) / step + 1e-9), int((hi - x) / step + 1e-9)      # whole steps inside [lo, hi]
    low, high = (round(float(x + k * step), 12) + 0.0 for k in (-below, above))  # rounding: no -1e-16 for 0
    kind, base = (w.FloatLogSlider, {"base": 10}) if log else (w.FloatSlider, {})
    return kind(value=value, min=low, max=high, step=step, description=description, readout_format=fmt,
                continuous_update=False, style=STYLE, **base)


def unit_slider(value, description, step) -> w.FloatSlider:
    """A ``grid_slider`` over [0, 1]."""
    return grid_slider(value, 0.0, 1.0, step, description)


def redraw_on_change(explorer, *controls):
    """Call ``explorer.redraw`` whenever one of ``controls`` changes, and once now."""
    for control in controls:
        control.observe(explorer.redraw, names="value")
    explorer.redraw()


def hook(widget, *names):
    """Give ``widget`` the CSS classes ``rlteach-<name>`` (the hooks in this module's docstring); return it."""
    for name in names:
        widget.add_class(f"rlteach-{name}")
    return widget


def hook_explorer(explorer, kind, controls: dict):
    """Hook an explorer's outer box (``explorer.widget``), its figure (``explorer.image``) and each of its
    ``controls`` (name -> control)."""
    hook(explorer.widget, "explorer", f"{kind}-explorer")
    hook(explorer.image, "figure")
    for name, control in controls.items():
        hook(control, "control", f"control-{name}")
