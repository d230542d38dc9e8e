"""Exercises of notebook 01 (the advantage function): checkers and reference solutions."""

from __future__ import annotations

import numpy as np

from rlteach.advantage import discounted_returns, gae
from rlteach.exercises.check import NOT_ATTEMPTED, Verdict, as_array, report
from rlteach.mdp import ChainMDP
from rlteach.messages import tr

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


def check_gae_by_hand(answer) -> Verdict:
    """Exercise: the three GAE advantages [A_0, A_1, A_2] of the rollout in ``GAE_BY_HAND``."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (3,))
    if arr is None:
        return report(False, tr("give three numbers [A_0, A_1, A_2], got {answer!r}.", answer=answer))
    if np.allclose(arr, _gae_by_hand(), atol=1e-3):
        return report(True, tr("A_t = delta_t + gamma * lam * A_{t+1}, summed backwards from the last step."))
    if np.allclose(arr, _gae_by_hand(lam=0.0), atol=1e-3):
        return report(False, tr("these are the one-step TD errors delta_t (lam = 0). GAE adds "
                                "gamma * lam * A_{t+1}: start at t = 2 and work backwards."))
    if np.allclose(arr, _gae_by_hand(lam=1.0), atol=1e-3):
        return report(False, tr("this is the Monte-Carlo advantage (lam = 1). Use lam = 0.5."))
    if np.allclose(arr, _gae_by_hand(terminated=[False, False, False]), atol=1e-3):
        return report(False, tr("step 2 terminated, so its TD error must not bootstrap: "
                                "delta_2 = r_2 - V(s_2), without gamma * next_values[2]."))
    if np.isclose(arr[2], _gae_by_hand()[2], atol=1e-3):
        return report(False, tr("A_2 is right; check A_1 = delta_1 + gamma * lam * A_2, then A_0."))
    return report(False, tr("start with the TD errors delta_t = r_t + gamma * (1 - terminated_t) * "
                            "next_values_t - values_t, then A_2 = delta_2 and A_t = delta_t + gamma * lam * A_{t+1}."))


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


def check_returns_function(my_returns) -> Verdict:
    """Exercise: ``my_returns(rewards, next_values, terminated, truncated, gamma)`` for one env ([T] arrays)."""
    if my_returns is ...:
        return report(False, NOT_ATTEMPTED)
    if not callable(my_returns):
        return report(False, tr("pass your function itself (my_returns), not {kind}.",
                                kind=type(my_returns).__name__))
    gamma = 0.9
    for r, nv, term, trunc in _returns_test_cases():
        expected = discounted_returns(r, nv, term, trunc, gamma)
        try:
            got = np.asarray(my_returns(r.copy(), nv.copy(), term.copy(), trunc.copy(), gamma), dtype=float)
        except Exception as exc:  # noqa: BLE001 - any error is reported as a hint, never raised
            return report(False, tr("your function raised {error}: {exc}", error=type(exc).__name__, exc=exc))
        if got.shape != expected.shape:
            return report(False, tr("return one value per step: expected shape {expected}, got {got}.",
                                    expected=expected.shape, got=got.shape))
        if np.allclose(got, expected, atol=1e-6):
            continue
        if np.allclose(got, discounted_returns(r, nv, term | trunc, np.zeros_like(trunc), gamma), atol=1e-6):
            return report(False, tr("you treated a truncation like a termination. A time limit does not end "
                                    "the task: bootstrap from next_values[t] there."))
        if np.allclose(got, discounted_returns(r, nv, term, np.zeros_like(trunc), gamma), atol=1e-6):
            return report(False, tr("after a truncation the NEXT episode's return flowed back into this one. "
                                    "At truncated[t] use r_t + gamma * next_values[t], not G_{t+1}."))
        if np.allclose(got, discounted_returns(r, nv, np.zeros_like(term), trunc, gamma), atol=1e-6):
            return report(False, tr("at terminated[t] there is no future: G_t = r_t, no bootstrap."))
        return report(False, tr("on rewards={rewards}, terminated={terminated}, truncated={truncated} expected "
                                "{expected}, got {got}.", rewards=np.round(r, 3).tolist(), terminated=term.tolist(),
                                truncated=trunc.tolist(), expected=np.round(expected, 3).tolist(),
                                got=np.round(got, 3).tolist()))
    return report(True, tr("terminated stops bootstrapping; truncated bootstraps and stops the flow back."))


# ---------------------------------------------------------------------------------------------------------
# 01 advantage, exercise 3: the exact advantage on the chain
# ---------------------------------------------------------------------------------------------------------


def _exact_chain_advantage():
    mdp = ChainMDP()
    return mdp.advantages(mdp.policy(0.6))


def check_exact_advantage(answer) -> Verdict:
    """Exercise: A[s, a] for ``ChainMDP()`` and the policy ``mdp.policy(0.6)``, a [5, 2] array."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    mdp = ChainMDP()
    pi = mdp.policy(0.6)
    arr = as_array(answer, (mdp.length, 2))
    if arr is None:
        return report(False, tr("give a [{length}, 2] array: one row per state, one column per action.",
                                length=mdp.length))
    exact = _exact_chain_advantage()
    if np.allclose(arr, exact, atol=1e-4):
        return report(True, tr("and each row's pi-weighted sum is 0: on average the policy is as good as itself."))
    if np.allclose(arr, -exact, atol=1e-4):
        return report(False, tr("the sign is flipped: A = Q - V, not V - Q."))
    if np.allclose(arr, mdp.q_values(pi), atol=1e-4):
        return report(False, tr("that is Q(s, a). Subtract the state's value V(s) from each row."))
    return report(False, tr("use mdp.q_values(pi) and mdp.values(pi); V has entries for the two terminal "
                            "states too, so take the first mdp.length."))


SOLUTIONS = {            # the reference answers of notebook 01's exercises; look only after trying
    "gae_by_hand": lambda: _gae_by_hand().round(4).tolist(),
    "returns_function": _solution_returns,
    "exact_advantage": _exact_chain_advantage,
}
