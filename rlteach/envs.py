"""Environments: where an env id leads, and what a network needs to know about it.

    env_spec(env_id)         gymnasium's EnvSpec; an id "module:Name-v0" imports ``module`` first
    env_dims(env_id)         (observation size, number of actions) of a flat-Box, Discrete-action env
    reward_threshold(env_id) the return at which the env counts as solved (inf where it has none)

Checking that an env id is usable (registered, installed, the right spaces) is ``rlteach.checks.check_env``.
"""

from __future__ import annotations

import importlib

import gymnasium as gym


def env_spec(env_id):
    """gymnasium's EnvSpec for ``env_id``. Like ``gym.make``, an id "module:Name-v0" imports ``module`` first
    (where a custom env registers itself): the form to use for envs that worker processes must find too."""
    if ":" in env_id:
        module, env_id = env_id.split(":", 1)
        importlib.import_module(module)
    return gym.spec(env_id)


def env_dims(env_id) -> tuple[int, int]:
    """(observation size, number of actions) of a flat-Box, Discrete-action env: what a network is built for."""
    env = gym.make(env_id)
    try:
        return env.observation_space.shape[0], int(env.action_space.n)
    finally:
        env.close()


def reward_threshold(env_id) -> float:
    threshold = env_spec(env_id).reward_threshold
    return float("inf") if threshold is None else float(threshold)
