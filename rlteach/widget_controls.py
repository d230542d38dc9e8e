"""The controls ``rlteach.widgets.TrainExplorer`` shows for each algorithm: Config field -> (kind, range), and
``config_controls``, which builds them. Every control starts at that Config's own default, read when the explorer
is built (the one place defaults live), on its grid (``widget_parts.grid_slider``)."""

from __future__ import annotations

import dataclasses
import importlib

import ipywidgets as w

from rlteach.impala import CORRECTIONS
from rlteach.messages import N_, tr
from rlteach.widget_parts import STYLE, grid_slider
from rlteach.workers import BACKENDS

LR = ("log", (-4.5, -2, 0.1, ".1e"))            # 10^-4.5 .. 10^-2, through the default
CONTROLS = {
    "rlteach.policy_gradient": {"lr": LR, "num_envs": ("int", (1, 32)), "n_steps": ("int", (1, 64)),
                                "gamma": ("float", (0.9, 0.999, 0.001, ".3f")),
                                "entropy_coef": ("float", (0.0, 0.05, 0.005, ".3f"))},
    "rlteach.a3c": {"num_workers": ("int", (1, 4)), "backend": ("backend", ()), "lock": ("check", ()), "lr": LR,
                    "t_max": ("int", (1, 100))},
    "rlteach.apex": {"num_actors": ("int", (1, 4)), "backend": ("backend", ()),
                     "priority_alpha": ("float", (0.0, 1.0, 0.05, ".2f")),
                     "priority_beta": ("float", (0.0, 1.0, 0.05, ".2f")), "n_step": ("int", (1, 5)), "lr": LR},
    "rlteach.impala": {"num_actors": ("int", (1, 4)), "backend": ("backend", ()),
                       "unrolls_per_weight_pull": ("int", (1, 64)), "off_policy_correction": ("choice", CORRECTIONS),
                       "clip_rho": ("log", (-1, 1, 0.05, ".2f")), "clip_c": ("log", (-1, 1, 0.05, ".2f")), "lr": LR},
    "rlteach.ppo": {"clip_eps": ("float", (0.05, 1.0, 0.05, ".2f")), "update_epochs": ("int", (1, 20)),
                    "num_minibatches": ("int", (1, 16)), "lr": LR},
}
LABELS = {"lock": N_("lock (only the optimizer step)"), "off_policy_correction": N_("correction"),
          "clip_rho": "clip_rho (rho-bar)", "clip_c": N_("clip_c (c-bar, at most rho-bar)")}


def config_controls(module_name) -> dict:
    """Config field -> an ipywidgets control for it, starting at the Config's default (``CONTROLS``)."""
    config = importlib.import_module(module_name).Config
    default = {f.name: f.default for f in dataclasses.fields(config)}
    controls = {}
    for name, (kind, args) in CONTROLS[module_name].items():
        common = {"value": default[name], "description": tr(LABELS[name]) if name in LABELS else name, "style": STYLE}
        if kind == "int":
            controls[name] = w.IntSlider(min=args[0], max=args[1], **common)
        elif kind in ("float", "log"):
            controls[name] = grid_slider(default[name], *args[:3], common["description"], args[3], kind == "log")
        elif kind == "check":
            controls[name] = w.Checkbox(**common)
        elif kind == "choice":
            controls[name] = w.ToggleButtons(options=list(args), **common)
        else:
            controls[name] = w.ToggleButtons(options=list(BACKENDS), **common)   # rlteach.workers' backends
    return controls
