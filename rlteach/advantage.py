"""The advantage function and the returns it is built from.

    A(s, a) = Q(s, a) - V(s)

"how much better is action a than what the policy does on average in s". We never know Q or V exactly,
so every actor-critic method estimates A from a rollout and a critic V. This file holds the four
estimators the rest of rlteach uses; each is a small pure function.

Shapes and conventions (the same for every function here)
---------------------------------------------------------
Arrays are time-major: ``[T]`` for one environment, ``[T, N]`` for N environments stepped in parallel.
numpy in -> numpy out; torch in -> torch out, with the same dtype and device.

    rewards[t]      r_t, the reward for the step from s_t
    values[t]       V(s_t), the critic's value of the state the step started from
    next_values[t]  V(s_{t+1}) for the TRUE successor of step t. When step t ends an episode this is the
                    value of the final observation, never of the first observation after a reset.
                    ``next_values[T-1]`` bootstraps a rollout that the collector cut off.
    terminated[t]   the episode ended for real (pole fell): nothing follows, so no bootstrap.
    truncated[t]    a time limit ended it: the state still had a future, so bootstrap from
                    ``next_values[t]``, but nothing after t (the next episode) flows back into t.
    gamma           discount in [0, 1];  lam  GAE's lambda in [0, 1];  n  steps looked ahead, n >= 1.

When both flags are set (a time limit hit on a terminal step) ``terminated`` wins: no bootstrap.

The estimators (``d_t = 1 - terminated[t]`` is the "may bootstrap" mask)
-----------------------------------------------------------------------
    TD error           delta_t = r_t + gamma * d_t * next_values[t] - values[t]         (td_errors)
    return             G_t = r_t + gamma * d_t * (G_{t+1}, or next_values[t] at a cut)   (discounted_returns)
    n-step return      G^(n)_t = sum_{i<k} gamma^i r_{t+i} + gamma^k * d_j * next_values[j],
                       j = t + k - 1, k = min(n, steps to the episode's end, steps to the rollout's end)
                                                                                          (n_step_returns)
    GAE(gamma, lam)    A_t = delta_t + gamma * lam * (1 - cut_t) * A_{t+1}                (gae)
                       cut_t = terminated[t] or truncated[t] or t == T-1

GAE interpolates: lam = 0 gives the one-step TD error (low variance, biased by the critic), lam = 1 gives
the Monte-Carlo return minus the baseline, G_t - V(s_t) (unbiased, high variance).
Schulman et al. 2016, "High-Dimensional Continuous Control Using Generalized Advantage Estimation".

Each function loops over time only; every operation inside the loop is vectorised over the N envs.
"""

from __future__ import annotations

import numpy as np
import torch

from rlteach.checks import check_int, check_real

__all__ = ["td_errors", "discounted_returns", "n_step_returns", "gae"]


# ---------------------------------------------------------------------------------------------------------
# Input checks and numpy/torch plumbing
# ---------------------------------------------------------------------------------------------------------


def _prepare(**arrays):
    """Check that all arrays share one kind (numpy or torch) and one shape [T] or [T, N].

    Returns (is_torch, float dtype, {name: array}) with rewards/values cast to that float dtype and the
    flags cast to the same float dtype (1.0 where set), ready for arithmetic.
    """
    first_name, first = next(iter(arrays.items()))
    is_torch = isinstance(first, torch.Tensor)
    for name, a in arrays.items():
        if is_torch and not isinstance(a, torch.Tensor):
            raise TypeError(f"{name} is a {type(a).__name__} but {first_name} is a torch.Tensor: "
                            "pass all arrays as torch tensors or all as numpy arrays")
        if not is_torch and isinstance(a, torch.Tensor):
            raise TypeError(f"{name} is a torch.Tensor but {first_name} is not: "
                            "pass all arrays as torch tensors or all as numpy arrays")
    if not is_torch:
        arrays = {k: np.asarray(v) for k, v in arrays.items()}
    shape = tuple(first.shape)
    if len(shape) not in (1, 2) or shape[0] < 1:
        raise ValueError(f"{first_name} has shape {shape}; allowed: [T] or [T, N] with T >= 1 (time-major)")
    for name, a in arrays.items():
        if tuple(a.shape) != shape:
            raise ValueError(f"{name} has shape {tuple(a.shape)} but {first_name} has shape {shape}; "
                             "all arrays must have the same [T] or [T, N] shape")

    if is_torch:
        for name, a in arrays.items():
            if a.device != first.device:
                raise ValueError(f"{name} is on {a.device} but {first_name} is on {first.device}; "
                                 "all tensors must be on one device")
        dtype = first.dtype if first.is_floating_point() else torch.get_default_dtype()
        out = {k: v.to(dtype) for k, v in arrays.items()}
    else:
        dtype = first.dtype if np.issubdtype(first.dtype, np.floating) else np.float64
        out = {k: v.astype(dtype, copy=False) for k, v in arrays.items()}
    return is_torch, dtype, out


def _zeros_like(x):
    return torch.zeros_like(x) if isinstance(x, torch.Tensor) else np.zeros_like(x)


def _cumprod0(x):
    return torch.cumprod(x, 0) if isinstance(x, torch.Tensor) else np.cumprod(x, 0)


def _cat0(a, b):
    return torch.cat([a, b], 0) if isinstance(a, torch.Tensor) else np.concatenate([a, b], 0)


# ---------------------------------------------------------------------------------------------------------
# The estimators
# ---------------------------------------------------------------------------------------------------------


def td_errors(rewards, values, next_values, terminated, gamma):
    """One-step TD errors, ``delta_t = r_t + gamma * (1 - terminated[t]) * next_values[t] - values[t]``.

    The simplest advantage estimate: it uses one real reward and trusts the critic for the rest.
    ``truncated`` is not an argument: a truncated step bootstraps from ``next_values[t]`` like any other.
    """
    gamma = check_real("gamma", gamma, 0, 1)
    _, _, a = _prepare(rewards=rewards, values=values, next_values=next_values, terminated=terminated)
    return a["rewards"] + gamma * (1 - a["terminated"]) * a["next_values"] - a["values"]


def discounted_returns(rewards, next_values, terminated, truncated, gamma):
    """Discounted returns to the end of each episode, ``G_t = r_t + gamma * d_t * G_{t+1}``.

    At a cut (``truncated[t]``, or t = T-1 where the collector stopped) the unseen future is replaced by
    ``next_values[t]``; at ``terminated[t]`` there is no future (d_t = 0). With every episode complete
    and terminated this is the Monte-Carlo return.
    """
    gamma = check_real("gamma", gamma, 0, 1)
    _, _, a = _prepare(rewards=rewards, next_values=next_values, terminated=terminated, truncated=truncated)
    r, v_next, term, trunc = a["rewards"], a["next_values"], a["terminated"], a["truncated"]
    T = r.shape[0]
    G = _zeros_like(r)
    for t in reversed(range(T)):
        if t == T - 1:                                     # the rollout ends: bootstrap
            future = v_next[t]
        else:                                              # truncated: bootstrap; else the next return
            future = trunc[t] * v_next[t] + (1 - trunc[t]) * G[t + 1]
        G[t] = r[t] + gamma * (1 - term[t]) * future
    return G


def n_step_returns(rewards, next_values, terminated, truncated, gamma, n):
    """n-step returns ``G^(n)_t = sum_{i<k} gamma^i r_{t+i} + gamma^k * d_j * next_values[j]``.

    k = min(n, steps to the episode's end, steps to the rollout's end) rewards are used, and the value at
    the last step used, j = t + k - 1, bootstraps the rest unless step j terminated. n = 1 gives
    ``r_t + gamma * d_t * next_values[t]`` (the TD target); n >= T gives ``discounted_returns``.
    """
    gamma = check_real("gamma", gamma, 0, 1)
    n = check_int("n", n, 1)
    is_torch, dtype, a = _prepare(rewards=rewards, next_values=next_values, terminated=terminated,
                                  truncated=truncated)
    r, v_next, term, trunc = a["rewards"], a["next_values"], a["terminated"], a["truncated"]
    ends = 1 - (1 - term) * (1 - trunc)                    # 1 where an episode ends at that step
    T = r.shape[0]
    w_max = min(int(n), T)
    disc = (gamma ** np.arange(w_max, dtype=np.float64)).reshape((w_max,) + (1,) * (r.ndim - 1))
    disc = torch.as_tensor(disc, dtype=dtype, device=r.device) if is_torch else disc.astype(dtype)
    G = _zeros_like(r)
    for t in range(T):
        w = min(w_max, T - t)                              # the window: steps t .. t+w-1
        # inside[i] = 1 while r_{t+i} still belongs to step t's episode (no end in steps t .. t+i-1)
        inside = _cumprod0(_cat0(ends[t:t + 1] * 0 + 1, 1 - ends[t:t + w - 1]))
        # last[i] = 1 at i = k-1, the last step used: inside[i] and not inside[i+1]
        last = inside - _cat0(inside[1:], inside[:1] * 0)
        rewards_part = (disc[:w] * inside * r[t:t + w]).sum(0)
        bootstrap = (disc[:w] * gamma * last * (1 - term[t:t + w]) * v_next[t:t + w]).sum(0)
        G[t] = rewards_part + bootstrap                     # gamma^(i+1) = gamma^k at i = k-1
    return G


def gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    """Generalised advantage estimates, ``A_t = delta_t + gamma * lam * (1 - cut_t) * A_{t+1}``.

    ``delta_t`` is the TD error (``td_errors``); the sum of discounted TD errors runs to the next cut:
    the end of an episode (terminated or truncated) or the end of the rollout. lam = 0 gives the TD
    errors, lam = 1 gives ``discounted_returns(...) - values`` (the TD errors telescope, since inside an
    episode ``next_values[t]`` is ``values[t+1]``). Add ``values`` to get the lambda-returns
    a critic is trained towards.
    """
    gamma = check_real("gamma", gamma, 0, 1)
    lam = check_real("lam", lam, 0, 1)
    _, _, a = _prepare(rewards=rewards, values=values, next_values=next_values, terminated=terminated,
                       truncated=truncated)
    delta = td_errors(a["rewards"], a["values"], a["next_values"], a["terminated"], gamma)
    term, trunc = a["terminated"], a["truncated"]
    T = delta.shape[0]
    A = _zeros_like(delta)
    for t in reversed(range(T)):
        A_next = A[t + 1] if t + 1 < T else A[t] * 0
        flows = (1 - term[t]) * (1 - trunc[t])           # 0 where an episode ends at t
        A[t] = delta[t] + gamma * lam * flows * A_next
    return A
