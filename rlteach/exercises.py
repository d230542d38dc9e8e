"""Checkers for the notebooks' exercises, and their reference solutions.

Each exercise cell in a notebook starts as ``answer = ...`` (Python's Ellipsis) and ends with a call to a
checker here. A checker prints one helpful line and returns True (right) or False (not attempted yet, or
wrong). It never raises on a wrong answer, so a notebook with untouched exercises still runs top to bottom.
Where a wrong answer matches a common mistake, the message names that mistake.

The reference solutions are in ``SOLUTIONS``; look only after you have tried.
"""

from __future__ import annotations

import numpy as np
import torch

from rlteach.a3c import SharedRMSprop
from rlteach.advantage import discounted_returns, gae
from rlteach.mdp import ChainMDP
from rlteach.policy_gradient import reinforce_loss

NOT_ATTEMPTED = "Not attempted yet: replace the ... with your answer and run the cell again."


def _report(ok: bool, message: str) -> bool:
    print(message if message == NOT_ATTEMPTED else ("Correct! " if ok else "Not yet: ") + message)
    return ok


def _as_array(answer, shape):
    try:
        arr = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return None
    return arr if arr.shape == shape else None


# ---------------------------------------------------------------------------------------------------------
# 01 advantage, exercise 1: GAE by hand
# ---------------------------------------------------------------------------------------------------------

GAE_BY_HAND = {
    "rewards": [1.0, 0.0, 2.0],
    "values": [0.5, 1.0, 1.5],
    "next_values": [1.0, 1.5, 3.0],
    "terminated": [False, False, True],
    "gamma": 0.9,
    "lam": 0.5,
}


def _gae_by_hand(lam=None, terminated=None):
    e = GAE_BY_HAND
    term = np.array(e["terminated"] if terminated is None else terminated)
    return gae(np.array(e["rewards"]), np.array(e["values"]), np.array(e["next_values"]), term,
               np.zeros(3, dtype=bool), e["gamma"], e["lam"] if lam is None else lam)


def check_gae_by_hand(answer) -> bool:
    """Exercise: the three GAE advantages [A_0, A_1, A_2] of the rollout in ``GAE_BY_HAND``."""
    if answer is ...:
        return _report(False, NOT_ATTEMPTED)
    arr = _as_array(answer, (3,))
    if arr is None:
        return _report(False, f"give three numbers [A_0, A_1, A_2], got {answer!r}.")
    if np.allclose(arr, _gae_by_hand(), atol=1e-3):
        return _report(True, "A_t = delta_t + gamma * lam * A_{t+1}, summed backwards from the last step.")
    if np.allclose(arr, _gae_by_hand(lam=0.0), atol=1e-3):
        return _report(False, "these are the one-step TD errors delta_t (lam = 0). GAE adds "
                       "gamma * lam * A_{t+1}: start at t = 2 and work backwards.")
    if np.allclose(arr, _gae_by_hand(lam=1.0), atol=1e-3):
        return _report(False, "this is the Monte-Carlo advantage (lam = 1). Use lam = 0.5.")
    if np.allclose(arr, _gae_by_hand(terminated=[False, False, False]), atol=1e-3):
        return _report(False, "step 2 terminated, so its TD error must not bootstrap: "
                       "delta_2 = r_2 - V(s_2), without gamma * next_values[2].")
    if np.isclose(arr[2], _gae_by_hand()[2], atol=1e-3):
        return _report(False, "A_2 is right; check A_1 = delta_1 + gamma * lam * A_2, then A_0.")
    return _report(False, "start with the TD errors delta_t = r_t + gamma * (1 - terminated_t) * "
                   "next_values_t - values_t, then A_2 = delta_2 and A_t = delta_t + gamma * lam * A_{t+1}.")


# ---------------------------------------------------------------------------------------------------------
# 01 advantage, exercise 2: returns that respect terminated AND truncated
# ---------------------------------------------------------------------------------------------------------


def _returns_test_cases():
    """Rollouts the checker runs a reader's function on: fixed small ones, then random ones."""
    f, t = False, True
    cases = [
        ([1.0, 1.0, 1.0], [0.0, 0.0, 10.0], [f, f, f], [f, f, f]),      # cut by the collector
        ([1.0, 1.0, 1.0], [5.0, 0.0, 10.0], [t, f, f], [f, f, f]),      # a real ending
        ([1.0, 1.0, 1.0], [5.0, 0.0, 10.0], [f, f, f], [t, f, f]),      # a time limit
        ([1.0, 2.0, 3.0, 4.0], [7.0, 5.0, 3.0, 1.0], [f, t, f, f], [f, t, t, f]),  # both flags at once
    ]
    rng = np.random.default_rng(0)
    for T in (5, 9, 16):
        cases.append((rng.normal(size=T).tolist(), rng.normal(size=T).tolist(),
                      (rng.random(T) < 0.2).tolist(), (rng.random(T) < 0.2).tolist()))
    return [tuple(np.array(x) for x in c) for c in cases]


def _solution_returns(rewards, next_values, terminated, truncated, gamma):
    """Reference for exercise 2: walk backwards; bootstrap at a truncation or at the rollout's end,
    never at a termination, and never let the next episode's return flow back across an ending."""
    G = np.zeros(len(rewards))
    for t in reversed(range(len(rewards))):
        if terminated[t]:
            G[t] = rewards[t]
        elif truncated[t] or t == len(rewards) - 1:
            G[t] = rewards[t] + gamma * next_values[t]
        else:
            G[t] = rewards[t] + gamma * G[t + 1]
    return G


def check_returns_function(my_returns) -> bool:
    """Exercise: ``my_returns(rewards, next_values, terminated, truncated, gamma)`` for one env ([T] arrays)."""
    if my_returns is ...:
        return _report(False, NOT_ATTEMPTED)
    if not callable(my_returns):
        return _report(False, f"pass your function itself (my_returns), not {type(my_returns).__name__}.")
    gamma = 0.9
    for r, nv, term, trunc in _returns_test_cases():
        expected = discounted_returns(r, nv, term, trunc, gamma)
        try:
            got = np.asarray(my_returns(r.copy(), nv.copy(), term.copy(), trunc.copy(), gamma), dtype=float)
        except Exception as exc:  # noqa: BLE001 - any error is reported as a hint, never raised
            return _report(False, f"your function raised {type(exc).__name__}: {exc}")
        if got.shape != expected.shape:
            return _report(False, f"return one value per step: expected shape {expected.shape}, got {got.shape}.")
        if np.allclose(got, expected, atol=1e-6):
            continue
        if np.allclose(got, discounted_returns(r, nv, term | trunc, np.zeros_like(trunc), gamma), atol=1e-6):
            return _report(False, "you treated a truncation like a termination. A time limit does not end "
                           "the task: bootstrap from next_values[t] there.")
        if np.allclose(got, discounted_returns(r, nv, term, np.zeros_like(trunc), gamma), atol=1e-6):
            return _report(False, "after a truncation the NEXT episode's return flowed back into this one. "
                           "At truncated[t] use r_t + gamma * next_values[t], not G_{t+1}.")
        if np.allclose(got, discounted_returns(r, nv, np.zeros_like(term), trunc, gamma), atol=1e-6):
            return _report(False, "at terminated[t] there is no future: G_t = r_t, no bootstrap.")
        return _report(False, f"on rewards={np.round(r, 3).tolist()}, terminated={term.tolist()}, "
                       f"truncated={trunc.tolist()} expected {np.round(expected, 3).tolist()}, "
                       f"got {np.round(got, 3).tolist()}.")
    return _report(True, "terminated stops bootstrapping; truncated bootstraps and stops the flow back.")


# ---------------------------------------------------------------------------------------------------------
# 01 advantage, exercise 3: the exact advantage on the chain
# ---------------------------------------------------------------------------------------------------------


def _exact_chain_advantage():
    mdp = ChainMDP()
    return mdp.advantages(mdp.policy(0.6))


def check_exact_advantage(answer) -> bool:
    """Exercise: A[s, a] for ``ChainMDP()`` and the policy ``mdp.policy(0.6)``, a [5, 2] array."""
    if answer is ...:
        return _report(False, NOT_ATTEMPTED)
    mdp = ChainMDP()
    pi = mdp.policy(0.6)
    arr = _as_array(answer, (mdp.length, 2))
    if arr is None:
        return _report(False, f"give a [{mdp.length}, 2] array: one row per state, one column per action.")
    exact = _exact_chain_advantage()
    if np.allclose(arr, exact, atol=1e-4):
        return _report(True, "and each row's pi-weighted sum is 0: on average the policy is as good as itself.")
    if np.allclose(arr, -exact, atol=1e-4):
        return _report(False, "the sign is flipped: A = Q - V, not V - Q.")
    if np.allclose(arr, mdp.q_values(pi), atol=1e-4):
        return _report(False, "that is Q(s, a). Subtract the state's value V(s) from each row.")
    return _report(False, "use mdp.q_values(pi) and mdp.values(pi); V has entries for the two terminal "
                   "states too, so take the first mdp.length.")


# ---------------------------------------------------------------------------------------------------------
# 02 policy gradient, exercise 1: the REINFORCE loss by hand
# ---------------------------------------------------------------------------------------------------------

REINFORCE_BY_HAND = {
    "log_probs": [-0.2, -1.2, -0.7],   # log pi(a_t|s_t) of the actions taken
    "returns": [3.0, 2.5, 0.5],        # G_t
    "baseline": 1.5,                   # b, subtracted from every G_t
}


def _reinforce_by_hand(baseline=None, sign=1.0, reduce="mean"):
    e = REINFORCE_BY_HAND
    b = e["baseline"] if baseline is None else baseline
    log_probs, returns = torch.tensor(e["log_probs"]), torch.tensor(e["returns"])
    loss = reinforce_loss(log_probs, returns - b).item()
    return sign * loss * (len(log_probs) if reduce == "sum" else 1)


def check_reinforce_loss(answer) -> bool:
    """Exercise: the REINFORCE loss of ``REINFORCE_BY_HAND`` with its baseline, one number."""
    if answer is ...:
        return _report(False, NOT_ATTEMPTED)
    arr = _as_array(answer, ())
    if arr is None:
        return _report(False, f"give one number, the loss L, got {answer!r}.")
    x = float(arr)
    if np.isclose(x, _reinforce_by_hand(), atol=1e-3):
        return _report(True, "L = -mean_t (G_t - b) log pi(a_t|s_t); gradient DEscent on L is ascent on J.")
    if np.isclose(x, _reinforce_by_hand(sign=-1.0), atol=1e-3):
        return _report(False, "the sign is flipped. The optimizer MINIMISES the loss, and we want to "
                       "maximise J, so the loss is MINUS the weighted log-probabilities.")
    if np.isclose(x, _reinforce_by_hand(reduce="sum"), atol=1e-3):
        return _report(False, "that is the sum over the 3 steps; reinforce_loss takes the mean.")
    if np.isclose(abs(x), abs(_reinforce_by_hand(baseline=0.0)), atol=1e-3):
        return _report(False, "subtract the baseline b = 1.5 from every return first: weights G_t - b.")
    return _report(False, "weight each log pi(a_t|s_t) by (G_t - b), average over the 3 steps, and negate.")


# ---------------------------------------------------------------------------------------------------------
# 02 policy gradient, exercise 2: which steps of an autoreset rollout are real transitions?
# ---------------------------------------------------------------------------------------------------------

_F, _T = False, True
AUTORESET_ROLLOUT = {
    # [n_steps=6, num_envs=2]: what envs.step returned at each step
    "terminated": [[_F, _F], [_T, _F], [_F, _F], [_F, _T], [_F, _F], [_F, _F]],
    "truncated": [[_F, _F], [_F, _F], [_F, _F], [_F, _F], [_T, _F], [_F, _F]],
    # True where the previous rollout's last step ended that env's episode
    "after_end": [_F, _T],
}


def _valid_mask(count_truncated=True, carry=True, shift=True):
    """The rule in ``policy_gradient.collect_rollout``: a step is valid unless the step before it ended an
    episode (a valid step that terminated or was truncated); the flag carries over from the last rollout."""
    e = AUTORESET_ROLLOUT
    term, trunc = np.array(e["terminated"]), np.array(e["truncated"])
    ends = term | trunc if count_truncated else term
    if not shift:
        return ~ends
    after_end = np.array(e["after_end"]) if carry else np.zeros(2, dtype=bool)
    valid = np.zeros_like(term)
    for t in range(len(term)):
        valid[t] = ~after_end
        after_end = valid[t] & ends[t]
    return valid


def check_valid_mask(answer) -> bool:
    """Exercise: the [6, 2] ``valid`` mask (True = a real transition) of ``AUTORESET_ROLLOUT``."""
    if answer is ...:
        return _report(False, NOT_ATTEMPTED)
    arr = _as_array(answer, (6, 2))
    if arr is None:
        return _report(False, "give a [6, 2] array of True/False: one row per step, one column per env.")
    arr = arr.astype(bool)
    if (arr == _valid_mask()).all():
        return _report(True, "only the step right after an episode's end is masked: it ignored the action, "
                       "returned reward 0 and the first observation of the next episode.")
    if (arr == _valid_mask(shift=False)).all():
        return _report(False, "the step that ENDS an episode is a real transition (its reward and its "
                       "final observation are real). Mask the step AFTER it, when the env resets.")
    if (arr == _valid_mask(count_truncated=False)).all():
        return _report(False, "a truncated episode is reset on the next step too: mask the step after "
                       "a truncation as well.")
    if (arr == _valid_mask(carry=False)).all():
        return _report(False, "env 1's episode ended on the previous rollout's last step (after_end), "
                       "so its step 0 here is an autoreset step.")
    if arr.all():
        return _report(False, "some steps are autoreset steps: after an episode ends, the next step resets "
                       "the env and is not a transition of the MDP.")
    return _report(False, "walk down each column: a step is valid unless the previous VALID step terminated "
                   "or was truncated (start from after_end).")


# ---------------------------------------------------------------------------------------------------------
# 02 policy gradient, exercise 3: which baselines keep the gradient unbiased?
# ---------------------------------------------------------------------------------------------------------

BASELINE_CHOICES = {
    "a": "a constant, b = 20",
    "b": "the critic's value V(s_t), any function of the state s_t",
    "c": "Q(s_t, a_t), the value of the action that was actually taken",
    "d": "the average return of the PREVIOUS batch of episodes",
    "e": "the return G_t itself",
}
_UNBIASED = {"a", "b", "d"}


def check_unbiased_baselines(answer) -> bool:
    """Exercise: the letters of ``BASELINE_CHOICES`` whose baseline keeps E[(G_t - b) grad log pi] = grad J."""
    if answer is ...:
        return _report(False, NOT_ATTEMPTED)
    if not isinstance(answer, str | list | tuple | set | frozenset):
        return _report(False, f"give the letters, e.g. {{'a', 'c'}} or 'ac', got {answer!r}.")
    picked = {str(x).strip().lower() for x in answer} - {"", ",", " "}
    unknown = picked - set(BASELINE_CHOICES)
    if unknown:
        return _report(False, f"{sorted(unknown)} are not among the choices {sorted(BASELINE_CHOICES)}.")
    if picked == _UNBIASED:
        return _report(True, "E_a[grad log pi(a|s)] = 0 in every state, so any b not depending on a_t "
                       "(or on anything after it) leaves the expectation unchanged.")
    if "e" in picked:
        return _report(False, "with b = G_t every weight G_t - b is 0: the estimate is always 0, not grad J.")
    if "c" in picked:
        return _report(False, "Q(s_t, a_t) depends on the action taken, so E_a[b grad log pi] is not 0: "
                       "that baseline cancels part of the very signal you want. (Q - V, the advantage, is "
                       "fine as a weight; as a baseline only the V part is.)")
    if "d" not in picked:
        return _report(False, "the previous batch's average was fixed before this batch was played: to this "
                       "batch it is a constant, so it is as harmless as a.")
    return _report(False, "E_a[grad log pi(a|s)] = 0 for every state s: any b that does not depend on the "
                   "action a_t, a number or a function of s_t, keeps the expectation.")


# ---------------------------------------------------------------------------------------------------------
# 03 A3C, exercise 1: one shared RMSProp step by hand
# ---------------------------------------------------------------------------------------------------------

RMSPROP_BY_HAND = {
    "theta": [0.5, -1.0, 2.0],   # the shared weights before the step
    "g": [0.04, 0.0, 1.0],       # the shared statistics before the step
    "grad": [0.2, -0.5, 1.0],    # the gradient a worker applies
    "lr": 0.1,
    "alpha": 0.9,
    "eps": 0.1,                  # the value reported for Atari: large enough that where it goes matters
}


def _rmsprop_by_hand(form="shared", new_g=True, g_rule="right", sign=-1.0, root=True):
    """(theta, g) after one step; the keywords build the common mistakes."""
    e = RMSPROP_BY_HAND
    theta, g, grad = (np.array(e[k]) for k in ("theta", "g", "grad"))
    alpha, eps = e["alpha"], e["eps"]
    if g_rule == "right":
        g_next = alpha * g + (1 - alpha) * grad**2
    elif g_rule == "no 1-alpha":
        g_next = alpha * g + grad**2
    else:                                                   # alpha and 1 - alpha swapped
        g_next = (1 - alpha) * g + alpha * grad**2
    used = g_next if new_g else g
    if form == "shared":
        denominator = np.sqrt(used + eps) if root else used + eps
    else:                                                   # torch.optim.RMSprop
        denominator = np.sqrt(used) + eps
    return theta + sign * e["lr"] * grad / denominator, g_next


def _rmsprop_reference():
    """The same step taken by ``rlteach.a3c.SharedRMSprop`` itself (float64)."""
    e = RMSPROP_BY_HAND
    theta = torch.tensor(e["theta"], dtype=torch.float64)
    opt = SharedRMSprop([theta], lr=e["lr"], alpha=e["alpha"], eps=e["eps"])
    opt.g[0].copy_(torch.tensor(e["g"], dtype=torch.float64))
    opt.step([theta], [torch.tensor(e["grad"], dtype=torch.float64)])
    return theta.numpy(), opt.g[0].numpy()


def check_rmsprop_step(answer) -> bool:
    """Exercise: ``(new_theta, new_g)`` after one SharedRMSprop step on ``RMSPROP_BY_HAND``, 3 numbers each."""
    if answer is ...:
        return _report(False, NOT_ATTEMPTED)
    arr = _as_array(answer, (2, 3))
    if arr is None:
        return _report(False, f"give two lists of three numbers, (new_theta, new_g), got {answer!r}.")
    theta, g = arr

    def same(pair):
        return np.allclose(theta, pair[0], atol=1e-4) and np.allclose(g, pair[1], atol=1e-4)

    if same(_rmsprop_reference()):
        return _report(True, "g <- alpha g + (1 - alpha) grad^2 first, then theta <- theta - lr grad / "
                       "sqrt(g + eps) with the NEW g.")
    if np.allclose(theta, _rmsprop_reference()[1], atol=1e-4) and np.allclose(g, _rmsprop_reference()[0], atol=1e-4):
        return _report(False, "the order is (new_theta, new_g): you gave them the other way round.")
    if same(_rmsprop_by_hand(form="torch")):
        return _report(False, "that is torch.optim.RMSprop's form, grad / (sqrt(g) + eps). The shared "
                       "optimizer of A3C (DeepMind's) puts eps INSIDE the root: grad / sqrt(g + eps).")
    if same(_rmsprop_by_hand(new_g=False)):
        return _report(False, "update g first and divide by the NEW g: the step uses this gradient's "
                       "own grad^2 too.")
    if same(_rmsprop_by_hand(root=False)):
        return _report(False, "divide by the square ROOT of g + eps: g is an average of grad^2, its root "
                       "has the units of grad.")
    if same(_rmsprop_by_hand(sign=1.0)):
        return _report(False, "the sign: a gradient step goes DOWN the gradient, theta - lr * ...")
    if np.allclose(g, _rmsprop_by_hand(g_rule="no 1-alpha")[1], atol=1e-4):
        return _report(False, "g is a moving average: weight the new grad^2 by (1 - alpha), "
                       "g <- alpha g + (1 - alpha) grad^2.")
    if np.allclose(g, _rmsprop_by_hand(g_rule="swapped")[1], atol=1e-4):
        return _report(False, "alpha = 0.9 weights the OLD g: g <- alpha g + (1 - alpha) grad^2.")
    if np.allclose(g, _rmsprop_reference()[1], atol=1e-4):
        return _report(False, "new_g is right; now theta <- theta - lr * grad / sqrt(new_g + eps), elementwise.")
    return _report(False, "first g <- alpha g + (1 - alpha) grad^2 (elementwise), then "
                   "theta <- theta - lr * grad / sqrt(g + eps) with that new g.")


# ---------------------------------------------------------------------------------------------------------
# 03 A3C, exercise 2: staleness from a timeline
# ---------------------------------------------------------------------------------------------------------

STALENESS_TIMELINE = [  # [worker, t_copy, t_applied], in the order the updates were applied
    [0, 0.00, 1.00],
    [1, 0.20, 1.50],
    [2, 0.40, 1.80],
    [0, 1.05, 2.10],
    [1, 1.55, 2.40],
    [0, 2.15, 2.90],
    [2, 1.85, 3.50],
]


def _staleness(rows, count="since copy"):
    """Per update: how many updates were applied after its copy and before it (``a3c.worker``'s rule)."""
    applied = [row[2] for row in rows]
    if count == "since copy":
        return [sum(row[1] < t < row[2] for t in applied) for row in rows]
    if count == "before copy":
        return [sum(t < row[1] for t in applied) for row in rows]
    return [sum(t < row[2] for t in applied) for row in rows]         # every update before it


def check_staleness(answer) -> bool:
    """Exercise: the staleness of each of the 7 updates in ``STALENESS_TIMELINE``, in its order."""
    if answer is ...:
        return _report(False, NOT_ATTEMPTED)
    n = len(STALENESS_TIMELINE)
    arr = _as_array(answer, (n,))
    if arr is None:
        return _report(False, f"give {n} numbers, one per row of the timeline, got {answer!r}.")
    right = np.array(_staleness(STALENESS_TIMELINE))
    if np.array_equal(arr, right):
        return _report(True, "staleness counts the updates that landed between a worker's copy and its own "
                       "update: the weights it learned from were that many updates old.")
    if np.array_equal(arr, right + 1):
        return _report(False, "do not count the update itself: the first update (nobody applied anything "
                       "during its cycle) has staleness 0.")
    if np.array_equal(arr, _staleness(STALENESS_TIMELINE, "all before")):
        return _report(False, "that counts every update before it. Count only those applied AFTER the "
                       "worker's copy (t_copy < t_applied of the other update < its own t_applied).")
    if np.array_equal(arr, _staleness(STALENESS_TIMELINE, "before copy")):
        return _report(False, "that is how many updates the worker's copy already contained. Staleness is "
                       "how many arrived AFTER the copy, while it was rolling out and computing.")
    wrong = [i for i in range(n) if arr[i] != right[i]]
    return _report(False, f"row {wrong[0]} is off: list the t_applied of all rows and count those strictly "
                   "between this row's t_copy and its t_applied.")


# ---------------------------------------------------------------------------------------------------------
# 03 A3C, exercise 3: threads, processes and the GIL
# ---------------------------------------------------------------------------------------------------------

BACKEND_CHOICES = {
    "a": "On the thread backend, 4 workers on a 2-core laptop run the Python code of 4 rollouts at the "
         "same instant.",
    "b": "The thread backend shares the model object itself; the process backend needs the weights in "
         "shared memory (share_memory_()) so that every process updates the same numbers.",
    "c": "Processes can speed A3C up to about the number of CPU cores, because each process has its own "
         "interpreter and its own GIL.",
    "d": "lock=True makes A3C synchronous: each worker waits until the others have finished their rollouts.",
    "e": "torch releases the GIL inside its kernels, so threads scale well even when every op is tiny "
         "(a 64-unit layer on one observation).",
    "f": "Adding process workers beyond the number of CPU cores keeps adding env steps per second.",
}
_BACKEND_TRUE = {"b", "c"}


def check_backend_statements(answer) -> bool:
    """Exercise: the letters of the TRUE statements in ``BACKEND_CHOICES``."""
    if answer is ...:
        return _report(False, NOT_ATTEMPTED)
    if not isinstance(answer, str | list | tuple | set | frozenset):
        return _report(False, f"give the letters, e.g. {{'a', 'c'}} or 'ac', got {answer!r}.")
    picked = {str(x).strip().lower() for x in answer} - {"", ",", " "}
    unknown = picked - set(BACKEND_CHOICES)
    if unknown:
        return _report(False, f"{sorted(unknown)} are not among the choices {sorted(BACKEND_CHOICES)}.")
    if picked == _BACKEND_TRUE:
        return _report(True, "threads share everything but take turns at the GIL; processes each have "
                       "their own, so they run truly in parallel, one per core.")
    hints = {
        "a": "a: the GIL lets ONE thread run Python code at a time; the others wait for their turn.",
        "d": "d: the lock guards only the optimizer step (a few microseconds); rollouts never wait.",
        "e": "e: torch does release the GIL inside a kernel, but a kernel on a 64-unit layer lasts "
             "microseconds, far less than the Python around it, which holds the GIL.",
        "f": "f: with more busy processes than cores they take turns on the cores (you measured it: "
             "4 processes on 2 cores are not faster than 2).",
    }
    wrong = sorted(picked - _BACKEND_TRUE)
    if wrong:
        return _report(False, hints[wrong[0]])
    missing = sorted(_BACKEND_TRUE - picked)
    return _report(False, f"one more is true: look again at {missing[0]} (see the backends table in "
                   "rlteach.workers).")


SOLUTIONS = {
    "gae_by_hand": lambda: _gae_by_hand().round(4).tolist(),
    "returns_function": _solution_returns,
    "exact_advantage": _exact_chain_advantage,
    "reinforce_loss": lambda: round(_reinforce_by_hand(), 4),
    "valid_mask": lambda: _valid_mask().tolist(),
    "unbiased_baselines": lambda: sorted(_UNBIASED),
    "rmsprop_step": lambda: tuple(x.round(4).tolist() for x in _rmsprop_reference()),
    "staleness": lambda: _staleness(STALENESS_TIMELINE),
    "backend_statements": lambda: sorted(_BACKEND_TRUE),
}
