"""What the single-process algorithms' tests (A2C, PPO) share: their CLI, and a saved run loaded back."""

import subprocess
import sys

import torch


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "rlteach", *args], capture_output=True, text=True, timeout=timeout)


def assert_loaded_equals(loaded, result):
    """Everything a saved run holds came back exactly: its record and the model's weights."""
    assert loaded.config == result.config
    for name in ("episode_returns", "episode_steps", "episode_seconds", "evals", "env_steps", "seconds",
                 "solved_at_steps", "solved_at_seconds", "interrupted", "records"):
        assert getattr(loaded, name) == getattr(result, name), name  # JSON floats round-trip exactly
    for (k, a), b in zip(result.model.state_dict().items(), loaded.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
