"""The explorers driven from Python: move a slider, check that what is plotted changed as it should."""

import base64
import dataclasses
import importlib
from functools import partial

import ipywidgets as ipw
import numpy as np
import pytest

from rlteach import envs, widget_controls, widget_parts, widgets
from rlteach.advantage import td_errors
from rlteach.mdp import ChainMDP
from rlteach.widgets import AdvantageExplorer
from rlteach.workers import ALL_BACKENDS


def is_eval_curve(line) -> bool:
    """A learning curve's line ("<label> (eval, n seeds)", or "eval"), not the star of a solved run (its label,
    "the evaluation that solved it", says eval too: counting it made a test fail when a short run solved)."""
    label = line.get_label()
    return label == "eval" or "(eval, " in label

def test_advantage_explorer_redraws_on_slider_change():
    ex = AdvantageExplorer(gamma=0.9, lam=0.9)
    before = ex.lines["gae"].get_ydata().copy()
    png_before = ex.image.value
    ex.lam.value = 0.0
    assert bytes(ex.image.value).startswith(b"\x89PNG") and bytes(ex.image.value) != bytes(png_before)
    after = ex.lines["gae"].get_ydata()
    assert not np.allclose(before, after)
    # lam = 0 draws the TD errors of the rollout under the critic: exact V (gamma 0.9) plus 0.3
    mdp = ChainMDP(gamma=0.9)
    V = mdp.values(mdp.policy(0.6))
    V[: mdp.length] += 0.3
    ro = ex.rollout
    expected = td_errors(ro["rewards"], V[ro["states"]], V[ro["next_states"]], ro["terminated"], 0.9)
    np.testing.assert_allclose(after, expected)
    np.testing.assert_allclose(after, ex.lines["td"].get_ydata())


def test_gamma_slider_changes_values_and_title():
    ex = AdvantageExplorer(gamma=0.9)
    values_before = ex.data["values"].copy()
    ex.gamma.value = 0.5
    assert not np.allclose(values_before, ex.data["values"])
    assert "gamma=0.50" in ex.ax.get_title()
    assert "lam=0.90" in ex.lines["gae"].get_label()


def test_live_view_redraws_after_each_evaluation():
    from rlteach import policy_gradient as pg
    from rlteach.widgets import LiveView

    view = LiveView()
    result = pg.train(pg.Config(total_steps=3000, eval_every=1000, stop_when_solved=False), progress=False,
                      callback=view)
    assert view.calls == len(result.evals) == 3
    assert bytes(view.image.value).startswith(b"\x89PNG")
    assert f"{result.env_steps:,} env steps" in view.status.value
    eval_line = [ln for ln in view.ax.get_lines() if is_eval_curve(ln)][0]
    assert np.nanmax(eval_line.get_ydata()) == max(e[2] for e in result.evals)


def test_train_explorer_trains_with_the_sliders_values():
    from rlteach import policy_gradient as pg
    from rlteach.widgets import TrainExplorer

    ex = TrainExplorer(pg, total_steps=2000)
    empty_png = bytes(ex.image.value)
    assert empty_png.startswith(b"\x89PNG")                       # the empty axes, before any run
    ex.sliders["num_envs"].value = 4
    ex.sliders["lr"].value = 1e-3
    ex.train_button.click()
    (label, result), = ex.results.items()
    assert result.config.num_envs == 4 and result.config.lr == pytest.approx(1e-3)
    assert result.env_steps >= 2000 and "num_envs=4" in label
    assert ex.status.value == f"{label}: {result.summary()}"      # the run's settings, then how it went
    first_png = bytes(ex.image.value)
    assert first_png != empty_png
    ex.sliders["n_steps"].value = 16
    ex.train_button.click()
    assert len(ex.results) == 2 and bytes(ex.image.value) != first_png
    assert len([ln for ln in ex.ax.get_lines() if is_eval_curve(ln)]) == 2
    ex.clear_button.click()
    assert ex.results == {} and bytes(ex.image.value) == empty_png


@pytest.mark.timeout(300)
def test_train_explorer_drives_a3c_with_workers_backend_and_lock():
    from rlteach import a3c
    from rlteach.widgets import TrainExplorer

    ex = TrainExplorer(a3c, total_steps=3000, x="seconds")
    assert set(ex.sliders) >= {"num_workers", "backend", "lock"}
    assert list(ex.sliders["backend"].options) == ["thread", "process"]
    ex.redraw()
    empty_png = bytes(ex.image.value)
    ex.sliders["num_workers"].value = 2
    ex.sliders["backend"].value = "process"
    ex.sliders["lock"].value = True
    ex.train_button.click()
    (label, result), = ex.results.items()
    config = result.config
    assert (config.num_workers, config.backend, config.lock, config.total_steps) == (2, "process", True, 3000)
    assert "num_workers=2" in label and "backend=process" in label and "lock=True" in label
    assert result.env_steps >= 3000 and "a3c on CartPole-v1" in ex.status.value
    assert bytes(ex.image.value) != empty_png and not ex.train_button.disabled
    eval_lines = [ln for ln in ex.ax.get_lines() if is_eval_curve(ln)]
    assert len(eval_lines) == 1 and label in eval_lines[0].get_label()


def test_priority_explorer_follows_alpha_and_beta():
    from rlteach.widgets import PriorityExplorer

    ex = PriorityExplorer(alpha=0.6, beta=0.4)
    td = np.array(PriorityExplorer.TD_ERRORS)
    p = np.abs(td) + 1e-3
    np.testing.assert_allclose(ex.data["P"], p**0.6 / (p**0.6).sum())
    assert sorted(ex.data["top"]) == sorted(np.argsort(-td)[:3])
    assert ex.data["top_share"] == pytest.approx(ex.data["P"][np.argsort(-td)[:3]].sum())
    heights = [b.get_height() for b in ex.axes[0].containers[0]]
    np.testing.assert_allclose(heights, ex.data["P"])
    png, share = bytes(ex.image.value), ex.data["top_share"]
    ex.alpha.value = 1.0                                       # sample in proportion to |delta|: the top grows
    assert ex.data["top_share"] > share
    np.testing.assert_allclose(ex.data["P"], p / p.sum())
    assert bytes(ex.image.value).startswith(b"\x89PNG") and bytes(ex.image.value) != png
    assert f"take {ex.data['top_share']:.0%} of the samples" in ex.figure._suptitle.get_text()
    weights = ex.data["w"].copy()
    ex.beta.value = 1.0                                        # full correction: every share of the update is 1/N
    assert not np.allclose(weights, ex.data["w"])
    np.testing.assert_allclose(ex.data["share"], 1 / 12)
    np.testing.assert_allclose([b.get_height() for b in ex.axes[2].containers[0]], 1 / 12)
    ex.alpha.value = 0.0                                       # uniform replay: P = 1/N, every weight 1
    np.testing.assert_allclose(ex.data["P"], 1 / 12)
    np.testing.assert_allclose(ex.data["w"], 1.0)
    assert ex.data["top_share"] == pytest.approx(3 / 12)


@pytest.mark.timeout(300)
def test_train_explorer_drives_apex_with_actors_backend_and_priorities():
    from rlteach import apex
    from rlteach.widgets import TrainExplorer

    ex = TrainExplorer(apex, total_steps=2500)
    assert set(ex.sliders) == {"num_actors", "backend", "priority_alpha", "priority_beta", "n_step", "lr"}
    assert (ex.sliders["num_actors"].min, ex.sliders["num_actors"].max) == (1, 4)
    assert list(ex.sliders["backend"].options) == ["thread", "process"]
    assert (ex.sliders["n_step"].min, ex.sliders["n_step"].max) == (1, 5)
    defaults = apex.Config()
    assert ex.settings() == {"num_actors": defaults.num_actors, "backend": defaults.backend,
                             "priority_alpha": defaults.priority_alpha, "priority_beta": defaults.priority_beta,
                             "n_step": defaults.n_step, "lr": pytest.approx(defaults.lr)}
    ex.redraw()
    empty_png = bytes(ex.image.value)
    ex.sliders["num_actors"].value = 1
    ex.sliders["priority_alpha"].value = 0.0
    ex.sliders["priority_beta"].value = 1.0
    ex.sliders["n_step"].value = 1
    ex.train_button.click()
    (label, result), = ex.results.items()
    config = result.config
    assert (config.num_actors, config.backend, config.priority_alpha, config.priority_beta, config.n_step,
            config.total_steps) == (1, "thread", 0.0, 1.0, 1, 2500)
    assert "num_actors=1" in label and "priority_alpha=0" in label and "n_step=1" in label
    assert result.env_steps >= 2500 and "apex on CartPole-v1" in ex.status.value
    assert result.records["epsilons"] == [0.4] and result.records["updates"] > 0
    assert bytes(ex.image.value) != empty_png and not ex.train_button.disabled


def test_vtrace_explorer_follows_rho_bar_c_bar_and_the_drift():
    import torch

    from rlteach import impala
    from rlteach.widgets import VtraceExplorer

    ex = VtraceExplorer(clip_rho=1.0, clip_c=1.0, drift=0.0)
    assert ex.data["gap"] == pytest.approx(0.0, abs=1e-12)                   # on-policy: v_s is the n-step return
    np.testing.assert_allclose(ex.data["ratio"], 1.0)
    np.testing.assert_allclose(ex.data["vs"], ex.data["n_step"])
    png = bytes(ex.image.value)
    ex.drift.value = 1.5
    mu, pi = ex.policies()
    np.testing.assert_allclose(mu, VtraceExplorer.MU)
    assert ((pi > mu) == (np.array(VtraceExplorer.SIDE) > 0)).all()            # pi likes the actions SIDE says
    np.testing.assert_allclose(ex.data["ratio"], pi / mu)
    np.testing.assert_allclose(ex.data["rho"], np.minimum(1.0, pi / mu))
    n = len(mu)
    args = [torch.as_tensor(np.asarray(x, dtype=float)) for x in
            (np.log(mu), np.log(pi), VtraceExplorer.REWARDS, [VtraceExplorer.GAMMA] * n, VtraceExplorer.VALUES,
             VtraceExplorer.BOOTSTRAP)]
    np.testing.assert_allclose(ex.data["vs"], impala.vtrace(*args, 1.0, 1.0, 1.0).vs.numpy())
    assert ex.data["gap"] > 0.1
    assert bytes(ex.image.value).startswith(b"\x89PNG") and bytes(ex.image.value) != png
    drawn = {ln.get_label(): ln.get_ydata() for ln in ex.axes[1].get_lines()}
    np.testing.assert_allclose(drawn["v_s, V-trace"], ex.data["vs"])
    assert f"up to {ex.data['gap']:.3f}" in ex.figure._suptitle.get_text()
    vs_clipped = ex.data["vs"].copy()
    ex.clip_rho.value = 10.0                                                   # above every ratio: no clipping
    ex.clip_c.value = 10.0
    assert not np.allclose(vs_clipped, ex.data["vs"])
    np.testing.assert_allclose(ex.data["vs"], ex.data["vs_unclipped"])
    np.testing.assert_allclose(ex.data["c"], pi / mu)
    ex.clip_c.value = 0.1                                                      # c-bar alone: rho and the last v fixed
    np.testing.assert_allclose(ex.data["c"], np.minimum(0.1, pi / mu))
    np.testing.assert_allclose(ex.data["rho"], pi / mu)
    assert ex.data["vs"][-1] == pytest.approx(ex.data["vs_unclipped"][-1])
    assert "refuses" not in ex.figure._suptitle.get_text()                    # c-bar 0.1 <= rho-bar 10: allowed
    ex.clip_rho.value = 0.1
    ex.clip_c.value = 1.0                                                      # c-bar > rho-bar: drawn, and said so
    assert "c-bar > rho-bar: impala.Config refuses" in ex.figure._suptitle.get_text()


@pytest.mark.timeout(300)
def test_train_explorer_drives_impala_with_pull_delay_and_correction():
    from rlteach import impala
    from rlteach.widgets import TrainExplorer

    ex = TrainExplorer(impala, total_steps=2500)
    assert set(ex.sliders) == {"num_actors", "backend", "unrolls_per_weight_pull", "off_policy_correction",
                               "clip_rho", "clip_c", "lr"}
    assert list(ex.sliders["off_policy_correction"].options) == list(impala.CORRECTIONS)
    assert (ex.sliders["num_actors"].min, ex.sliders["num_actors"].max) == (1, 4)
    assert list(ex.sliders["backend"].options) == ["thread", "process"]
    assert (ex.sliders["unrolls_per_weight_pull"].min, ex.sliders["unrolls_per_weight_pull"].max) == (1, 64)
    defaults = impala.Config()
    assert ex.settings() == {"num_actors": defaults.num_actors, "backend": defaults.backend,
                             "unrolls_per_weight_pull": defaults.unrolls_per_weight_pull,
                             "off_policy_correction": defaults.off_policy_correction,
                             "clip_rho": pytest.approx(defaults.clip_rho), "clip_c": pytest.approx(defaults.clip_c),
                             "lr": pytest.approx(defaults.lr)}
    ex.sliders["clip_rho"].value = 0.5                             # below c-bar: Config refuses, the status says why
    assert ex.train() is None and "clip_c" in ex.status.value and "clip_rho" in ex.status.value and not ex.results
    ex.sliders["clip_rho"].value = defaults.clip_rho
    ex.redraw()
    empty_png = bytes(ex.image.value)
    ex.sliders["num_actors"].value = 1
    ex.sliders["unrolls_per_weight_pull"].value = 4
    ex.sliders["off_policy_correction"].value = "none"
    ex.train_button.click()
    (label, result), = ex.results.items()
    config = result.config
    assert (config.num_actors, config.backend, config.unrolls_per_weight_pull, config.off_policy_correction,
            config.total_steps) == (1, "thread", 4, "none", 2500)
    assert "num_actors=1" in label and "unrolls_per_weight_pull=4" in label and "off_policy_correction=none" in label
    assert result.env_steps >= 2500 and "impala on CartPole-v1" in ex.status.value
    assert result.records["updates"] > 0 and {row.who for row in result.records["timeline"]} == {-1, 0}
    assert bytes(ex.image.value) != empty_png and not ex.train_button.disabled


def sliders_of(widget):
    """Every slider in an explorer's widget tree."""
    if isinstance(widget, ipw.FloatSlider | ipw.FloatLogSlider | ipw.IntSlider):
        yield widget
    for child in getattr(widget, "children", ()):
        yield from sliders_of(child)


def on_its_grid(slider) -> bool:
    """What a browser shows: the slider's value snapped to min + k * step (of the exponent, for a log slider).
    True when that is the value itself."""
    x = np.log10(slider.value) if isinstance(slider, ipw.FloatLogSlider) else slider.value
    k = (x - slider.min) / slider.step
    return slider.min <= x <= slider.max and abs(k - round(k)) < 1e-6


@pytest.mark.parametrize("module_name", sorted(widget_controls.CONTROLS))
def test_every_control_starts_at_its_config_default_and_can_show_it(module_name):
    module = importlib.import_module(module_name)
    default = {f.name: f.default for f in dataclasses.fields(module.Config)}
    controls = widget_controls.config_controls(module_name)
    assert set(controls) <= set(default)
    for name, control in controls.items():
        assert control.value == default[name], name                     # exactly the default, not a neighbour
        if hasattr(control, "step"):
            assert on_its_grid(control), (name, control.value, control.min, control.step)


EXPLORERS = {"advantage": AdvantageExplorer, "priority": widgets.PriorityExplorer, "vtrace": widgets.VtraceExplorer,
             "vtrace off the old grid": lambda: widgets.VtraceExplorer(clip_rho=0.7, clip_c=1.3, drift=0.25),
             "side by side": widgets.SideBySideExplorer,
             **{name: partial(widgets.TrainExplorer, importlib.import_module(name))
                for name in widget_controls.CONTROLS}}


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_every_slider_of_every_explorer_can_show_its_starting_value(name):
    sliders = list(sliders_of(EXPLORERS[name]().widget))
    assert sliders
    for slider in sliders:
        assert on_its_grid(slider), (slider.description, slider.value, slider.min, slider.step)


def test_grid_slider_lays_its_grid_through_the_value_inside_the_range():
    old = ipw.FloatLogSlider(value=7e-4, base=10, min=-4.5, max=-2, step=0.1)   # the A2C lr slider before
    assert not on_its_grid(old)                                                  # a browser showed 6.3e-4
    lr = widget_parts.grid_slider(7e-4, -4.5, -2, 0.1, "lr", log=True)
    assert on_its_grid(lr) and lr.value == 7e-4 and -4.5 <= lr.min and lr.max <= -2
    assert 10 ** (lr.min + 13 * 0.1) == pytest.approx(7e-4) and lr.max - lr.min == pytest.approx(2.4)
    alpha = widget_parts.grid_slider(0.6, 0.0, 1.0, 0.05, "alpha")
    assert (alpha.min, alpha.max) == (0.0, 1.0) and on_its_grid(alpha)          # no -1e-16 below 0
    odd = widget_parts.grid_slider(0.33, 0.0, 1.0, 0.1, "x")
    assert (odd.min, odd.max) == pytest.approx((0.03, 0.93)) and on_its_grid(odd)
    with pytest.raises(ValueError, match="lr=0.5 is outside"):
        widget_parts.grid_slider(0.5, -4.5, -2, 0.1, "lr", log=True)


def test_side_by_side_explorer_trains_a_contender_and_refuses_one_that_does_not_exist():
    explorer = widgets.SideBySideExplorer(max_seconds=30.0, total_steps=800)
    assert explorer.sliders["delay_ms"].value == envs.DEFAULT_DELAY_MS          # the env's own default
    explorer.sliders["algorithm"].value, explorer.sliders["how"].value = "a2c", "thread"
    assert explorer.train() is None and "Not started" in explorer.status.value and "a2c:sync" in explorer.status.value
    assert "'&lt;algorithm&gt;:&lt;thread|process&gt;x&lt;N&gt;'" in explorer.status.value    # escaped, so shown
    explorer.sliders["how"].value, explorer.sliders["workload"].value = "vector", "sleep"
    assert explorer.train() is None and "vector_entry_point" in explorer.status.value
    explorer.sliders["how"].value, explorer.sliders["delay_ms"].value = "sync", 0.5
    result = explorer.train()
    assert result.config.env_kwargs == {"delay_ms": 0.5, "mode": "sleep"} and result.env_steps >= 800
    assert list(explorer.results) == ["a2c:sync on sleep (0.5 ms)"] and explorer.image.value


def controls_in(widget):
    """Every control in an explorer's widget tree: sliders, check boxes, toggle buttons, dropdowns."""
    if isinstance(widget, ipw.FloatSlider | ipw.FloatLogSlider | ipw.IntSlider | ipw.Checkbox | ipw.ToggleButtons
                  | ipw.Dropdown):
        yield widget
    for child in getattr(widget, "children", ()):
        yield from controls_in(child)


KINDS = {"AdvantageExplorer": "advantage", "PriorityExplorer": "priority", "VtraceExplorer": "vtrace",
         "TrainExplorer": "train", "SideBySideExplorer": "side-by-side"}


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_every_explorer_carries_the_css_hooks_the_browser_tests_find_it_by(name):
    ex = EXPLORERS[name]()
    kind = KINDS[type(ex).__name__]
    assert ex.widget._dom_classes == ("rlteach-explorer", f"rlteach-{kind}-explorer")
    assert ex.image._dom_classes == ("rlteach-figure",)
    named = getattr(ex, "sliders", None)
    found = {}
    for control in controls_in(ex.widget):
        hooks = [c for c in control._dom_classes if c.startswith("rlteach-control-")]
        assert control._dom_classes[0] == "rlteach-control" and len(hooks) == 1, (control.description, hooks)
        found[hooks[0].removeprefix("rlteach-control-")] = control
    assert found
    for hook, control in found.items():                # the hook names the Config field or the attribute it sets
        assert control is (named[hook] if named is not None else getattr(ex, hook)), hook
    if named is not None:
        assert found.keys() == named.keys()
        assert (ex.train_button._dom_classes, ex.clear_button._dom_classes, ex.status._dom_classes) == (
            ("rlteach-train",), ("rlteach-clear",), ("rlteach-status",))


def test_the_live_view_carries_its_hooks():
    from rlteach.widgets import LiveView

    view = LiveView()
    assert view.widget._dom_classes == ("rlteach-live-view",)
    assert (view.image._dom_classes, view.status._dom_classes) == (("rlteach-figure",), ("rlteach-status",))


# --- what a notebook shows: the live widget, and its figure for a reader without a kernel ------------------------

class Shown:
    """A stand-in for IPython's ``display``: records what was published and every update of its output."""

    def __init__(self):
        self.published, self.updates = [], []

    def __call__(self, data, raw=False, display_id=None):
        assert raw and display_id is True, "published as one raw bundle with a display id"
        self.published.append(data)
        return self

    def update(self, data, raw=False):
        assert raw
        self.updates.append(data)


@pytest.fixture
def shown(monkeypatch):
    record = Shown()
    monkeypatch.setattr(widget_parts, "display", record)
    return record


def png_of(bundle) -> bytes:
    return base64.b64decode(bundle["image/png"])


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_an_explorer_shows_its_live_widget_its_figure_as_a_png_and_a_line_of_text(name, shown):
    ex = EXPLORERS[name]()
    ex._ipython_display_()                         # what a cell does with an explorer as its last expression
    [bundle] = shown.published
    assert set(bundle) == {widget_parts.WIDGET_VIEW, "image/png", "text/plain"}
    assert bundle[widget_parts.WIDGET_VIEW]["model_id"] == ex.widget.model_id      # JupyterLab: the live widget
    png = png_of(bundle)                                                            # GitHub, nbviewer, PDF: the figure
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png == bytes(ex.image.value)
    text = bundle["text/plain"]                       # nbval compares it: no model id, the controls' values
    assert text.startswith(f"<{type(ex).__name__}: ") and ex.widget.model_id not in text and " at 0x" not in text
    assert text == EXPLORERS[name]().describe()         # the same in every run


def test_the_text_of_an_explorer_names_its_controls_and_their_values():
    assert AdvantageExplorer(gamma=0.9, lam=0.95).describe() == "<AdvantageExplorer: gamma=0.9, lam=0.95>"
    assert widgets.VtraceExplorer().describe() == "<VtraceExplorer: clip_rho=1, clip_c=1, drift=1>"
    defaults = importlib.import_module("rlteach.a3c").Config()
    text = widgets.TrainExplorer(importlib.import_module("rlteach.a3c")).describe()
    assert f"num_workers={defaults.num_workers}" in text and f"backend={defaults.backend}" in text


def test_a_train_explorer_without_runs_draws_where_they_will_appear():
    module = importlib.import_module("rlteach.impala")
    ex = widgets.TrainExplorer(module, backends=ALL_BACKENDS)
    text = " ".join(t.get_text() for t in ex.ax.texts)
    assert "press Train" in text
    # a reader without a kernel sees what each control offers and where it starts
    defaults = module.Config()
    lr = ex.sliders["lr"]                                # a log slider: its range in powers of 10
    assert f"lr: {10 ** lr.min:.3g} to {10 ** lr.max:.3g}, starts at {defaults.lr:.3g}" in text
    assert f"backend: {' / '.join(ALL_BACKENDS)}, starts at {defaults.backend}" in text
    corrections = " / ".join(module.CORRECTIONS)
    assert f"off_policy_correction: {corrections}, starts at {defaults.off_policy_correction}" in text
    assert all(f"{name}: " in text for name in ex.sliders)
    empty = bytes(ex.image.value)
    ex.sliders["clip_rho"].value = ex.sliders["clip_rho"].max      # a reader moves a control, then clears
    ex.clear()
    assert bytes(ex.image.value) == empty              # Clear runs: the same picture (the browser test compares)


def test_a_closed_widget_leaves_only_the_figure_and_the_text():
    ex = AdvantageExplorer()
    ex.widget.close()
    assert set(ex.mime_bundle()) == {"image/png", "text/plain"}


class Shell:
    """A stand-in for IPython's shell: its events, to fire post_run_cell as the end of a cell does."""

    def __init__(self):
        from IPython.core.events import EventManager, available_events
        self.events = EventManager(self, available_events)


def test_the_live_view_leaves_its_last_curve_in_its_output_when_the_cell_ends(shown, monkeypatch):
    from rlteach import policy_gradient as pg
    from rlteach.widgets import LiveView

    shell = Shell()
    monkeypatch.setattr(widget_parts, "get_ipython", lambda: shell)
    view = LiveView()
    view._ipython_display_()
    assert "image/png" not in shown.published[0]     # no evaluation yet: nothing to draw
    assert shown.published[0]["text/plain"] == "<LiveView>"
    pg.train(pg.Config(total_steps=2000, eval_every=1000, stop_when_solved=False), progress=False, callback=view)
    assert view.calls == 2 and shown.updates == []     # while the cell runs: only the live widget redraws
    shell.events.trigger("post_run_cell", None)
    [bundle] = shown.updates
    assert png_of(bundle) == bytes(view.image.value) and bundle[widget_parts.WIDGET_VIEW]["model_id"] == \
        view.widget.model_id and bundle["text/plain"] == "<LiveView>"
    shell.events.trigger("post_run_cell", None)        # once: a later cell leaves it alone
    assert len(shown.updates) == 1


def test_a_notebook_progress_bar_leaves_its_last_line_of_text_when_it_closes(monkeypatch):
    from rlteach import progress

    record = Shown()
    monkeypatch.setattr(progress, "display", record)
    bar = progress.NotebookBar(total=10, desc="measuring")
    [bundle] = record.published
    assert bundle[widget_parts.WIDGET_VIEW]["model_id"] == bar.container.model_id   # JupyterLab: the live bar
    assert bundle["text/plain"].startswith("measuring:   0%")
    bar.update(10)
    bar.close()
    [final] = record.updates                             # the same output, now one finished line of text
    assert set(final) == {"text/plain"} and final["text/plain"].startswith("measuring: 100%|██████████| 10/10 [")
    assert bar.container.comm is None                  # its widgets closed: the saved notebook keeps none
    bar.close()
    assert len(record.updates) == 1
