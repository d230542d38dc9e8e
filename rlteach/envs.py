"""Environments: where an env id leads, what a network needs to know about it, and envs whose step costs time.

    env_spec(env_id)                    gymnasium's EnvSpec; an id "module:Name-v0" imports ``module`` first
    make_env(env_id, env_kwargs)        gym.make(env_id, **env_kwargs); picklable, so subprocesses can use it
    env_dims(env_id, env_kwargs)        (observation size, number of actions) of a flat-Box, Discrete-action env
    reward_threshold(env_id)            the return at which the env counts as solved (inf where it has none)
    SlowCartPole                        CartPole-v1 whose every step costs ``delay_ms``: "rlteach/SlowCartPole-v1"
    OneHotCliffWalking                  Sutton & Barto's cliff, one-hot observations: "rlteach/OneHotCliffWalking-v1"
    cliff_path(act)                     the cells a policy visits on that cliff, from the start
    evaluation_kwargs(env_id, kwargs)   the env kwargs evaluation uses: the same env with no delay
    close_vector_env(envs)              close a vector env; a subprocess one even in the middle of a step

Checking that an env id is usable (registered, installed, the right spaces) is ``rlteach.checks.check_env``.

Why a slow CartPole
-------------------
A CartPole step costs about 10 microseconds, far less than a message between processes, so on CartPole one
process stepping a few envs in turn wins and distribution never pays. Real environments cost more: a
simulator, a robot, a game server. ``SlowCartPole`` keeps CartPole's dynamics, reward threshold (475) and
500-step limit, and makes every step cost ``delay_ms`` milliseconds in one of two ways:

    mode="sleep"   the step waits (``time.sleep``). The GIL is free meanwhile: other threads of the same
                   process run. Like a simulator in another process, a robot or a game server.
    mode="busy"    the step computes in pure Python until its thread has used that much CPU time. The GIL
                   is held: in one process, only one such step runs at a time, whatever the number of
                   threads. Like a simulator in Python.

Importing ``rlteach`` registers it, so the id works in every process that imports rlteach: worker processes
and Ray actors (they import the algorithm's module). A subprocess vector env made from ``gym.make`` alone
does not import rlteach; give it ``partial(make_env, "rlteach/SlowCartPole-v1")`` (unpickling ``make_env``
imports rlteach), or the id "rlteach.envs:rlteach/SlowCartPole-v1" (gymnasium imports the module first).

Evaluation is the measuring instrument, not the workload: it plays the same env with ``delay_ms=0``
(``evaluation_kwargs``), so that the solved check costs the same on every workload.
"""

from __future__ import annotations

import importlib
import math
import numbers
import time
import warnings

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control import CartPoleEnv
from gymnasium.envs.toy_text.cliffwalking import CliffWalkingEnv

SLOW_CARTPOLE = "rlteach/SlowCartPole-v1"
ONE_HOT_CLIFF = "rlteach/OneHotCliffWalking-v1"
SLOW_MODES = ("sleep", "busy")
MAX_DELAY_MS = 1000.0
DEFAULT_DELAY_MS = 1.0


def env_spec(env_id):
    """gymnasium's EnvSpec for ``env_id``. Like ``gym.make``, an id "module:Name-v0" imports ``module`` first
    (where a custom env registers itself): the form to use for envs that worker processes must find too."""
    if ":" in env_id:
        module, env_id = env_id.split(":", 1)
        importlib.import_module(module)
    return gym.spec(env_id)


def make_env(env_id, env_kwargs=None, **make_kwargs):
    """``gym.make(env_id, **env_kwargs, **make_kwargs)``. A function of rlteach, so a subprocess that unpickles
    it (``AsyncVectorEnv([partial(make_env, env_id)] * n, context="spawn")``) imports rlteach and finds
    rlteach's envs."""
    return gym.make(env_id, **(env_kwargs or {}), **make_kwargs)


def env_dims(env_id, env_kwargs=None) -> tuple[int, int]:
    """(observation size, number of actions) of a flat-Box, Discrete-action env: what a network is built for."""
    env = make_env(env_id, env_kwargs)
    try:
        return env.observation_space.shape[0], int(env.action_space.n)
    finally:
        env.close()


def reward_threshold(env_id) -> float:
    threshold = env_spec(env_id).reward_threshold
    return float("inf") if threshold is None else float(threshold)


class SlowCartPole(CartPoleEnv):
    """CartPole whose every ``step`` costs ``delay_ms`` milliseconds: waiting (``mode="sleep"``, the GIL free)
    or computing in pure Python (``mode="busy"``, the GIL held). ``delay_ms=0`` is plain CartPole."""

    def __init__(self, delay_ms=DEFAULT_DELAY_MS, mode="sleep", render_mode=None):
        if isinstance(delay_ms, bool) or not isinstance(delay_ms, numbers.Real):
            raise TypeError(f"delay_ms={delay_ms!r} is not allowed: delay_ms must be a number in [0, {MAX_DELAY_MS}]")
        if not (math.isfinite(delay_ms) and 0 <= delay_ms <= MAX_DELAY_MS):
            raise ValueError(f"delay_ms={delay_ms!r} is not allowed: delay_ms must be a number in [0, {MAX_DELAY_MS}]")
        if mode not in SLOW_MODES:
            raise ValueError(f"mode={mode!r} is not allowed: choose one of {SLOW_MODES}")
        super().__init__(render_mode=render_mode)
        self.delay_ms, self.mode = float(delay_ms), mode

    def step(self, action):
        seconds = self.delay_ms / 1000
        if seconds > 0 and self.mode == "sleep":
            time.sleep(seconds)                         # waits; other threads run meanwhile
        elif seconds > 0:
            # computes until THIS thread has used that much CPU: a thread waiting for the GIL does not
            # advance its own clock, so 8 threads doing it take 8 times as long, as real work would
            end = time.thread_time() + seconds
            while time.thread_time() < end:
                pass
        return super().step(action)


class OneHotCliffWalking(CliffWalkingEnv):
    """Gymnasium's CliffWalking (Sutton & Barto, Example 6.6): a 4 x 12 grid, start bottom left, goal bottom
    right, the cells between them a cliff. Every step pays -1; stepping into the cliff pays -100 and puts the
    agent back at the start (the episode goes on). Actions 0 up, 1 right, 2 down, 3 left. The observation is
    the cell as a one-hot vector of 48 (not an index), so the package's networks take it as they are; with
    ``hidden=()`` a network is a table. Registered with a 100-step limit and the reward threshold -13: the
    return of the shortest path, along the cliff's edge, so "solved" means the optimal path."""

    def __init__(self, render_mode=None):
        super().__init__(render_mode=render_mode)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self.observation_space.n,), np.float32)

    def one_hot(self, cell):
        obs = np.zeros(self.observation_space.shape, np.float32)
        obs[int(cell)] = 1.0
        return obs

    def reset(self, *, seed=None, options=None):
        cell, info = super().reset(seed=seed, options=options)
        return self.one_hot(cell), info

    def step(self, action):
        cell, reward, terminated, truncated, info = super().step(action)
        return self.one_hot(cell), reward, terminated, truncated, info


def cliff_path(act, max_steps=100) -> list[int]:
    """The cells a policy visits on the one-hot cliff from the start, ``act(obs [1, 48]) -> [action]`` (e.g. a
    model's greedy action), until the goal or ``max_steps`` steps: what ``plotting`` draws on the grid."""
    env = make_env(ONE_HOT_CLIFF)
    obs, _ = env.reset(seed=0)
    cells = [int(obs.argmax())]
    for _ in range(max_steps):
        obs, _, terminated, truncated, _ = env.step(int(act(obs[None])[0]))
        cells.append(int(obs.argmax()))
        if terminated or truncated:
            break
    env.close()
    return cells


def evaluation_kwargs(env_id, env_kwargs=None) -> dict:
    """The kwargs evaluation makes ``env_id`` with: ``env_kwargs``, and for SlowCartPole ``delay_ms=0``."""
    kwargs = dict(env_kwargs or {})
    if env_spec(env_id).entry_point == f"{__name__}:SlowCartPole":
        kwargs["delay_ms"] = 0.0
    return kwargs


def stop_processes(processes: list) -> None:
    """Terminate the started processes that still run (SIGTERM, then SIGKILL after 5 s) and reap them all."""
    for process in processes:
        if process.pid is not None and process.is_alive():
            process.terminate()
    for process in processes:
        if process.pid is not None:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()


def close_vector_env(envs) -> None:
    """Close a vector env; an AsyncVectorEnv by terminating its processes, even in the middle of a step."""
    if isinstance(envs, gym.vector.AsyncVectorEnv):
        stop_processes(envs.processes)
        # A step cut short by Ctrl-C can leave a reply half-read in a pipe, and close() would try to read the
        # rest (and fail, leaving the processes running). With the pipes closed it gives that step up.
        for pipe in envs.parent_pipes:
            if pipe is not None:
                pipe.close()
        with warnings.catch_warnings():  # its warning "close while waiting for a pending call": yes, on purpose
            warnings.simplefilter("ignore")
            envs.close(terminate=True)
    else:
        envs.close()


if SLOW_CARTPOLE not in gym.registry:
    gym.register(SLOW_CARTPOLE, entry_point=f"{__name__}:SlowCartPole", max_episode_steps=500,
                 reward_threshold=475.0)
if ONE_HOT_CLIFF not in gym.registry:
    gym.register(ONE_HOT_CLIFF, entry_point=f"{__name__}:OneHotCliffWalking", max_episode_steps=100,
                 reward_threshold=-13.0)
