"""Every check of rlteach's inputs, in one place: the Configs, the math functions, the replay and the pools.

Each check raises, before any work starts, a TypeError (wrong type) or a ValueError (wrong value) whose
message names the argument, the value it got and what is allowed:

    check_number / check_int / check_real   finite numbers in a range (never NaN, +-inf, True or False)
    check_bool, check_choice, check_hidden  flags, one of a few strings, hidden layer sizes
    check_nonnegative_array                 arrays such as priorities: finite and >= 0
    check_env, check_env_kwargs             a usable env id, and the keyword arguments it is made with
    check_device                            'cpu' or an existing 'cuda:N'
    check_common                            the fields every algorithm's Config has
    check_actor_critic                      the fields A2C and A3C share
    check_replay_share                      IMPALA's share of replayed unrolls in a batch
    check_backend, check_num_workers        the actor pool's backend and size

The upper bounds of sizes (MAX_*) are far above what one machine ever needs and low enough that a typo
(10**12 envs) is an error at once instead of a machine that runs out of memory or a run that never starts.
"""

from __future__ import annotations

import math
import numbers

import gymnasium as gym
import numpy as np
import torch

from rlteach.envs import env_spec, make_env

MAX_SEED = 2**32 - 1            # numpy's and gymnasium's seeds are 32-bit
MAX_PARALLEL = 1024             # envs, workers, actors, envs per actor, unrolls per batch
MAX_EVAL_EPISODES = 1000
MAX_ROLLOUT = 10_000            # steps in one rollout or unroll (n_steps, t_max, unroll_length)
MAX_BUFFER = 10_000_000         # replay entries (Ape-X's paper used 2 million)
MAX_BATCH = 65_536              # transitions per learner batch
MAX_QUEUE = 10_000              # messages waiting, transitions per message
MAX_HIDDEN = 4096               # units in one hidden layer
MAX_LAYERS = 16                 # hidden layers

LOCAL_BACKENDS = ("thread", "process")        # the actor pools of rlteach.workers on this machine
ALL_BACKENDS = LOCAL_BACKENDS + ("ray",)      # "ray": rlteach.ray_backend, on this machine or a cluster


def check_number(name, value, low=None, high=None, *, integer=False, low_open=False):
    """A finite number in [low, high] (or (low, high] with ``low_open``), else a TypeError/ValueError that
    names it, its value and what is allowed. NaN and +-inf are never allowed; nor are True/False."""
    kind = numbers.Integral if integer else numbers.Real
    lo = "-inf" if low is None else low
    hi = "inf" if high is None else high
    allowed = f"{'an integer' if integer else 'a finite number'} in {'(' if low_open else '['}{lo}, {hi}]"
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name}={value!r} is not allowed: {name} must be {allowed}")
    too_low = low is not None and (value <= low if low_open else value < low)
    if not math.isfinite(value) or too_low or (high is not None and value > high):
        raise ValueError(f"{name}={value!r} is not allowed: {name} must be {allowed}")


def check_bool(name, value):
    """True or False, nothing else (not 0/1, not "True")."""
    if not isinstance(value, bool):
        raise TypeError(f"{name}={value!r} is not allowed: {name} must be True or False")


def check_choice(name, value, choices):
    """One of ``choices`` (strings)."""
    if not (isinstance(value, str) and value in choices):
        raise ValueError(f"{name}={value!r} is not allowed: choose one of {tuple(choices)}")


def check_hidden(hidden, allow_empty=True) -> tuple:
    """Hidden layer sizes: a tuple (or list) of at most MAX_LAYERS integers in [1, MAX_HIDDEN]. Returned as a
    tuple. An empty tuple (no hidden layer: a linear policy and value) only where ``allow_empty``."""
    allowed = (f"a tuple of at most {MAX_LAYERS} layer sizes, each an integer in [1, {MAX_HIDDEN}]"
               + (", or () for no hidden layer" if allow_empty else ", at least one"))
    if not isinstance(hidden, tuple | list):
        raise TypeError(f"hidden={hidden!r} is not allowed: hidden must be {allowed}")
    ok = all(isinstance(h, numbers.Integral) and not isinstance(h, bool) and 1 <= h <= MAX_HIDDEN for h in hidden)
    if not ok or len(hidden) > MAX_LAYERS or (not hidden and not allow_empty):
        raise ValueError(f"hidden={hidden!r} is not allowed: hidden must be {allowed}")
    return tuple(int(h) for h in hidden)


def check_int(name, value, low, high=None) -> int:
    """check_number for an integer; returns it as a Python int."""
    check_number(name, value, low, high, integer=True)
    return int(value)


def check_real(name, value, low, high=None, *, low_open=False) -> float:
    """check_number for a real number; returns it as a Python float."""
    check_number(name, value, low, high, low_open=low_open)
    return float(value)


def check_nonnegative_array(name, values) -> np.ndarray:
    """An array (or scalar) of finite numbers >= 0, as float64; else a ValueError naming the first bad one."""
    p = np.asarray(values, dtype=np.float64)
    if not np.isfinite(p).all() or (p < 0).any():
        bad = p[~np.isfinite(p) | (p < 0)].ravel()[0]
        raise ValueError(f"{name} contains {float(bad)}; {name} must be finite and >= 0")
    return p


def check_env_kwargs(env_kwargs) -> dict | None:
    """None, or a dict of keyword arguments for ``gym.make`` whose keys are strings. Returned as a new dict (a
    Config keeps its own copy). Whether the env accepts them is ``check_env``'s question."""
    if env_kwargs is None:
        return None
    if not isinstance(env_kwargs, dict) or not all(isinstance(k, str) for k in env_kwargs):
        raise TypeError(f"env_kwargs={env_kwargs!r} is not allowed: env_kwargs must be None or a dict of keyword "
                        "arguments for gym.make, e.g. {'delay_ms': 1.0, 'mode': 'sleep'}")
    return dict(env_kwargs)


def check_env(env_id, *, discrete=True, env_kwargs=None):
    """The env id is registered, it can be made with ``env_kwargs``, its observations are a flat Box and (if
    ``discrete``) its actions Discrete."""
    if not isinstance(env_id, str):
        raise TypeError(f"env_id must be a string such as 'CartPole-v1', got {env_id!r}")
    try:
        env_spec(env_id)
    except (gym.error.Error, ImportError) as exc:
        raise ValueError(f"env_id={env_id!r} is not a registered Gymnasium environment "
                         f"(e.g. 'CartPole-v1', 'Acrobot-v1'): {exc}") from None
    env_kwargs = check_env_kwargs(env_kwargs)
    try:
        env = make_env(env_id, env_kwargs)
    except gym.error.DependencyNotInstalled as exc:
        raise ValueError(f"env_id={env_id!r} needs a package that is not installed: {exc}") from None
    except (TypeError, ValueError, gym.error.Error) as exc:     # the env's own check of its arguments
        raise ValueError(f"env_kwargs={env_kwargs!r} is not allowed for env_id={env_id!r}: {exc}") from None
    try:
        obs, act = env.observation_space, env.action_space
    finally:
        env.close()
    if not (isinstance(obs, gym.spaces.Box) and len(obs.shape) == 1):
        raise ValueError(f"env_id={env_id!r} has observations {obs}; allowed: a flat Box (a vector of numbers)")
    if discrete and not isinstance(act, gym.spaces.Discrete):
        raise ValueError(f"env_id={env_id!r} has actions {act}; this algorithm needs discrete actions "
                         "(gymnasium.spaces.Discrete)")


def check_device(device):
    """'cpu', 'cuda' or 'cuda:N'; a CUDA device must exist."""
    if not isinstance(device, str):
        raise TypeError(f"device={device!r} is not allowed: device must be a string, 'cpu', 'cuda' or 'cuda:N'")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device={device!r} is not a torch device; allowed: 'cpu', 'cuda', 'cuda:0', ...") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device={device!r} is not supported; allowed: 'cpu', 'cuda', 'cuda:N'")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available here; use device='cpu'")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device={device!r} is not allowed: this machine has {torch.cuda.device_count()} "
                         "CUDA device(s), 'cuda:0' ... ")


def check_common(config):
    """The fields every Config has: env_id, env_kwargs, seed, total_steps, eval_every (an integer, or None for
    no evaluation), eval_episodes, stop_when_solved, device. Each algorithm's ``__post_init__`` calls this,
    then checks its own fields. Keeps a copy of ``env_kwargs``."""
    config.env_kwargs = check_env_kwargs(config.env_kwargs)
    check_env(config.env_id, env_kwargs=config.env_kwargs)
    check_number("seed", config.seed, 0, MAX_SEED, integer=True)
    check_number("total_steps", config.total_steps, 1, integer=True)
    if config.eval_every is not None:                   # None: no evaluation (the run goes to total_steps)
        check_number("eval_every", config.eval_every, 1, integer=True)
    check_number("eval_episodes", config.eval_episodes, 1, MAX_EVAL_EPISODES, integer=True)
    check_bool("stop_when_solved", config.stop_when_solved)
    check_device(config.device)


def check_actor_critic(config, allow_empty_hidden=True, allow_no_clip=False):
    """The fields every actor-critic Config here shares (A2C, A3C): gamma, lr, RMSprop's decay and eps,
    the loss coefficients, the gradient clip and the hidden sizes. Normalises ``hidden`` to a tuple; an
    empty one (a linear policy and value) is allowed unless a shared torso needs a layer. ``max_grad_norm``
    may be None (no clip) only where ``allow_no_clip`` (A3C)."""
    check_number("gamma", config.gamma, 0, 1)
    check_number("lr", config.lr, 0, low_open=True)
    check_number("rms_decay", config.rms_decay, 0, 1)
    check_number("rms_eps", config.rms_eps, 0, low_open=True)
    check_number("value_coef", config.value_coef, 0)
    check_number("entropy_coef", config.entropy_coef, 0)
    if not (allow_no_clip and config.max_grad_norm is None):
        check_number("max_grad_norm", config.max_grad_norm, 0, low_open=True)
    config.hidden = check_hidden(config.hidden, allow_empty=allow_empty_hidden)


def check_replay_share(replay_fraction, batch_size):
    """IMPALA: ``replay_fraction * batch_size`` unrolls of each batch are replayed, a whole number below
    ``batch_size`` (at least one fresh unroll per batch)."""
    check_number("replay_fraction", replay_fraction, 0, 1)
    replayed = replay_fraction * batch_size
    if replayed != int(replayed) or replayed >= batch_size:
        raise ValueError(f"replay_fraction={replay_fraction!r} with batch_size={batch_size!r} is not allowed: "
                         "replay_fraction * batch_size unrolls of each batch are replayed, so it must be a whole "
                         "number smaller than batch_size (at least one fresh unroll per batch)")


def check_backend(backend, ray_address=None, allowed=ALL_BACKENDS):
    """A Config's ``backend`` is one of allowed, and ``ray_address`` (None or a string) goes with "ray"."""
    if backend not in allowed:
        raise ValueError(f"backend={backend!r} is not allowed; choose one of {allowed}")
    if ray_address is not None and (backend != "ray" or not isinstance(ray_address, str)):
        raise ValueError(f"ray_address={ray_address!r} needs backend='ray' and a string such as 'auto' or "
                         "'ray://head-node:10001'")


def check_num_workers(num_workers) -> int:
    """Every backend's pool needs an integer number of workers, at least 1."""
    return check_int("num_workers", num_workers, 1)
