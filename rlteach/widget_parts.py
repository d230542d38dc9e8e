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

An explorer shows in two places. JupyterLab with a running kernel draws the live widget; GitHub, nbviewer,
``jupyter nbconvert --to html`` and a PDF have no kernel and draw its figure instead. So ``Shown`` displays one
output carrying both (``mime_bundle``): the widget's view, the figure as a PNG and a line of text, and each reader
takes the richest part it can draw. (nbconvert and nbviewer draw the widget view only where the notebook saved
its widget state, and then need JavaScript from a CDN: the workbook is executed without it, so they draw the PNG.)
"""

from __future__ import annotations

import base64
import io

import ipywidgets as w
import numpy as np
from IPython import get_ipython
from IPython.display import display

from rlteach.messages import tr


def figure_png(figure) -> bytes:
    """A matplotlib figure as PNG bytes, for an ``ipywidgets.Image``."""
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def mime_bundle(widget, text: str, png: bytes = b"") -> dict:
    """One output for every reader (see the module's docstring): ``widget``'s view (none once it is closed),
    ``png`` (the figure, for a reader without a kernel) and ``text`` (for a terminal, and what nbval compares)."""
    view = (widget._repr_mimebundle_ and widget._repr_mimebundle_()) or {}   # None once the widget is closed
    bundle = {"text/plain": text}
    if WIDGET_VIEW in view:
        bundle[WIDGET_VIEW] = view[WIDGET_VIEW]
    if png:
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
    return bundle


class Shown:
    """What every explorer shares: a notebook displays its ``widget`` and, for a reader without a kernel, the
    figure its ``image`` holds now (``mime_bundle``), with ``describe()`` as its text. ``handle`` is the
    output's display handle: ``refresh_display()`` puts the figure of now into that same output."""

    handle = None

    def describe(self) -> str:
        """One line of text for the output: the explorer and its controls' values (no model id: nbval
        compares this line)."""
        values = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.values().items())
        return f"<{type(self).__name__}: {values}>" if values else f"<{type(self).__name__}>"

    def values(self) -> dict:
        """Control name -> its value, for the controls ``hook_explorer`` hooked (none: empty)."""
        return {name: control.value for name, control in getattr(self, "controls", {}).items()}

    def mime_bundle(self) -> dict:
        return mime_bundle(self.widget, self.describe(), self.image.value)

    def _ipython_display_(self):
        self.handle = display(self.mime_bundle(), raw=True, display_id=True)

    def refresh_display(self):
        """Put the figure of now into the output shown last (the live view stays live); no-op if none."""
        if self.handle is not None:
            self.handle.update(self.mime_bundle(), raw=True)

    def refresh_after_cell(self):
        """``refresh_display()`` once, when the running cell ends (IPython's ``post_run_cell``), so the output
        keeps the figure the cell left. Once, not at every redraw: JupyterLab draws an updated output anew."""
        shell = get_ipython()
        if shell is None or self.handle is None or getattr(self, "_refresh_due", False):
            return

        def refresh(result=None):
            shell.events.unregister("post_run_cell", refresh)
            self._refresh_due = False
            self.refresh_display()

        self._refresh_due = True
        shell.events.register("post_run_cell", refresh)


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


def control_range(name, control) -> str:
    """One line for a control: its name, the values it offers and its value now ("lr: 1e-05 to 0.01, starts
    at 0.0007"): what the empty figure of a TrainExplorer lists, as the controls start."""
    if isinstance(control, w.Checkbox):
        return (tr("{name}: on or off, starts on", name=name) if control.value
                else tr("{name}: on or off, starts off", name=name))
    if hasattr(control, "options"):
        return tr("{name}: {options}, starts at {value}", name=name, options=" / ".join(map(str, control.options)),
                  value=control.value)
    low, high = control.min, control.max
    if isinstance(control, w.FloatLogSlider):
        low, high = control.base ** low, control.base ** high
    return tr("{name}: {low:.3g} to {high:.3g}, starts at {value:.3g}", name=name, low=low, high=high,
              value=control.value)


def empty_figure_text(controls: dict, names: dict | None = None) -> str:
    """What a TrainExplorer's figure says before its first run, for a reader without a kernel: how a run starts,
    and what each of ``controls`` (name -> control) offers and where it starts (``control_range``). ``names``
    (name -> what to call it) names a control that is no Config field as the live controls do; the others are
    called by their name."""
    names = names or {}
    return "\n".join([tr("No run yet. In a running notebook, set the controls and press Train:\n"
                         "each run's evaluation returns appear here, one curve per run."), "",
                      tr("What you can change:")] + [f"  {control_range(names.get(name, name), c)}"
                                                     for name, c in controls.items()])


def draw_empty_figure(ax, text, x="steps"):
    """Write ``text`` (``empty_figure_text``) on a TrainExplorer's empty axes ``ax``, labelled for ``x`` ("steps"
    or "seconds"), without ticks: monospace, falling back to sans-serif (where a CJK font is) for Chinese."""
    ax.text(0.03, 0.95, text, ha="left", va="top", color="0.3", fontsize=8.5, family=["monospace", "sans-serif"],
            transform=ax.transAxes)
    ax.set(xlabel=tr("env steps") if x == "steps" else tr("seconds"), ylabel=tr("return"), xticks=[], yticks=[])


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
    ``controls`` (name -> control), and keep them as ``explorer.controls`` (``Shown.values`` reads them)."""
    explorer.controls = controls
    hook(explorer.widget, "explorer", f"{kind}-explorer")
    hook(explorer.image, "figure")
    for name, control in controls.items():
        hook(control, "control", f"control-{name}")
