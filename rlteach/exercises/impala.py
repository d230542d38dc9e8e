"""Exercises of notebook 05 (IMPALA): checkers and reference solutions."""

from __future__ import annotations

import numpy as np
import torch

from rlteach.exercises.check import (
    NOT_ATTEMPTED,
    Verdict,
    as_array,
    check_choices,
    close_pair,
    report,
    two_lists,
)
from rlteach.impala import vtrace
from rlteach.messages import N_, tr

# ---------------------------------------------------------------------------------------------------------
# 05 IMPALA, exercise 1: the truncated importance weights rho_t and c_t
# ---------------------------------------------------------------------------------------------------------

WEIGHTS_BY_HAND = {
    "behaviour_log_probs": np.log([0.5, 0.8, 0.25, 0.6]).round(4).tolist(),   # log mu(a_t|x_t), t = 0..3
    "target_log_probs": np.log([0.75, 0.4, 0.5, 0.6]).round(4).tolist(),      # log pi(a_t|x_t)
    "clip_rho": 1.2,                                                          # rho-bar
    "clip_c": 1.0,                                                            # c-bar (lam = 1)
}


def _weights(ratio_of="pi/mu", exp=True, clip_rho="clip_rho", clip_c="clip_c"):
    """(rho, c) of ``WEIGHTS_BY_HAND``; the keywords build the common mistakes (clip None: no clipping)."""
    e = WEIGHTS_BY_HAND
    log_ratio = np.array(e["target_log_probs"]) - np.array(e["behaviour_log_probs"])
    log_ratio = log_ratio if ratio_of == "pi/mu" else -log_ratio
    ratio = np.exp(log_ratio) if exp else log_ratio

    def clip(x, bar):
        return x if bar is None else np.minimum(e[bar], x)

    return clip(ratio, clip_rho), clip(ratio, clip_c)


def _weights_reference():
    """rho_t and c_t as ``impala.vtrace`` computes them (the first two lines of its body)."""
    e = WEIGHTS_BY_HAND
    rhos = torch.exp(torch.tensor(e["target_log_probs"], dtype=torch.float64)
                     - torch.tensor(e["behaviour_log_probs"], dtype=torch.float64))
    return torch.clamp(rhos, max=e["clip_rho"]).numpy(), torch.clamp(rhos, max=e["clip_c"]).numpy()


def check_weights(answer) -> Verdict:
    """Exercise: ``(rho, c)`` for the 4 steps of ``WEIGHTS_BY_HAND``, 4 numbers each."""
    got = two_lists(answer, ("rho", "c"), 4)
    if isinstance(got, Verdict):
        return got
    rho, c = got

    def same(pair):
        return close_pair(got, pair, atol=2e-3)

    right = _weights_reference()
    if same(right):
        return report(True, tr("pi/mu = exp(log pi - log mu) = 1.5, 0.5, 2, 1; rho clips it at rho-bar = 1.2, c at "
                               "c-bar = 1. A ratio below both bars is left alone: the clips only cut large weights."))
    if same(right[::-1]):
        return report(False, tr("the order is (rho, c), and rho is clipped at rho-bar = 1.2, c at c-bar = 1.0: you "
                                "swapped them."))
    if same(_weights(ratio_of="mu/pi")):
        return report(False, tr("the ratio is pi/mu (target over behaviour): it reweights what mu sampled towards "
                                "what pi would have done."))
    if same(_weights(exp=False)) or same(_weights(exp=False, clip_rho=None, clip_c=None)):
        return report(False, tr("log pi - log mu is the LOG of the ratio: take exp() of it first."))
    if same(_weights(clip_rho=None, clip_c=None)):
        return report(False, tr("those are the raw ratios pi/mu: now clip them, rho_t = min(rho-bar, pi/mu) and "
                                "c_t = min(c-bar, pi/mu)."))
    if np.allclose(rho, right[0], atol=2e-3):
        return report(False, tr("rho is right; c_t = min(c-bar, pi/mu) with c-bar = 1.0."))
    if np.allclose(c, right[1], atol=2e-3):
        return report(False, tr("c is right; rho_t = min(rho-bar, pi/mu) with rho-bar = 1.2."))
    return report(False, tr("first pi/mu = exp(log pi - log mu) for each step, then rho_t = min(1.2, pi/mu) and "
                            "c_t = min(1.0, pi/mu)."))


# ---------------------------------------------------------------------------------------------------------
# 05 IMPALA, exercise 2: v_s by hand for a 3-step unroll
# ---------------------------------------------------------------------------------------------------------

VS_BY_HAND = {
    "ratios": [2.0, 0.5, 1.0],        # pi(a_t|x_t) / mu(a_t|x_t), t = 0, 1, 2
    "rewards": [1.0, 0.0, 2.0],
    "values": [2.0, 1.0, 3.0],        # the critic's V(x_0), V(x_1), V(x_2)
    "bootstrap_value": 1.0,           # V(x_3): no episode ends inside the unroll
    "gamma": 0.9,
    "clip_rho": 1.0,
    "clip_c": 0.8,
}


def _vs(clip_rho="clip_rho", clip_c="clip_c", ratios=True):
    """v_0, v_1, v_2 from ``impala.vtrace``; the keywords build the common mistakes (None: no clipping;
    ``ratios=False``: every ratio taken as 1 and no clips, the n-step return)."""
    e = VS_BY_HAND
    ratio = torch.tensor(e["ratios"] if ratios else [1.0] * 3, dtype=torch.float64)
    mu = torch.zeros(3, dtype=torch.float64)

    def t(x):
        return torch.tensor(x, dtype=torch.float64)

    clips = (e[clip_rho] if clip_rho else None, e[clip_c] if clip_c else None) if ratios else (None, None)
    out = vtrace(mu, torch.log(ratio), t(e["rewards"]), t([e["gamma"]] * 3), t(e["values"]),
                 t(e["bootstrap_value"]), *clips)
    return out.vs.numpy()


def _vs_one_step():
    """The mistake of stopping at the first term: v_s = V(x_s) + delta_s V."""
    e = VS_BY_HAND
    v = np.array(e["values"])
    v_next = np.append(v[1:], e["bootstrap_value"])
    rho = np.minimum(e["clip_rho"], e["ratios"])
    return v + rho * (np.array(e["rewards"]) + e["gamma"] * v_next - v)


def check_vs_by_hand(answer) -> Verdict:
    """Exercise: the V-trace targets v_0, v_1, v_2 of ``VS_BY_HAND``."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (3,))
    if arr is None:
        return report(False, tr("give three numbers, v_0, v_1, v_2, got {answer!r}.", answer=answer))

    def close(x):
        return np.allclose(arr, x, atol=2e-3)

    right = _vs()
    if close(right):
        return report(True, tr("backwards from the end: v_2 = V_2 + delta_2, then v_t - V_t = delta_t + gamma c_t "
                               "(v_{t+1} - V_{t+1}). The small ratio at t = 1 shrinks delta_1 (rho) and what flows "
                               "back through it (c)."))
    if close(_vs(ratios=False)):
        return report(False, tr("that is the on-policy n-step return: every ratio taken as 1. Weight each TD error "
                                "by rho_t and each step of the trace by c_t."))
    if close(_vs(clip_rho=None, clip_c=None)):
        return report(False, tr("the ratio 2.0 at t = 0 must be clipped: rho_0 = min(1.0, 2.0) = 1 and c_0 = "
                                "min(0.8, 2.0) = 0.8."))
    if close(_vs(clip_c="clip_rho")):
        return report(False, tr("the trace uses c_t = min(c-bar, pi/mu) with c-bar = 0.8, not rho-bar: c_0 = 0.8."))
    if close(_vs(clip_rho="clip_c")):
        return report(False, tr("the TD errors are weighted by rho_t = min(rho-bar, pi/mu) with rho-bar = 1.0."))
    if close(_vs_one_step()):
        return report(False, tr("that is V + delta_s V only; v_s also adds the later TD errors, each discounted by "
                                "gamma c_s ... c_{t-1}: use v_t - V_t = delta_t + gamma c_t (v_{t+1} - V_{t+1})."))
    if np.isclose(arr[2], right[2], atol=2e-3):
        return report(False, tr("v_2 is right; go backwards: v_1 - V_1 = delta_1 + gamma c_1 (v_2 - V_2), then v_0."))
    return report(False, tr("start at the last step: delta_2 = rho_2 (r_2 + gamma V(x_3) - V(x_2)) and v_2 = V(x_2) "
                            "+ delta_2; then v_t - V(x_t) = delta_t + gamma c_t (v_{t+1} - V(x_{t+1}))."))


# ---------------------------------------------------------------------------------------------------------
# 05 IMPALA, exercise 3: the policy lag of one actor's unrolls
# ---------------------------------------------------------------------------------------------------------

LAG_BY_HAND = {
    "unrolls_per_weight_pull": 3,                                  # the actor pulls before unrolls 0, 3, 6, ...
    "published_at_start": [0, 1, 1, 3, 4, 4, 6, 7],          # the newest published version when unroll k began
    "learner_version_when_used": [2, 3, 4, 5, 6, 8, 9, 10],  # the learner's version when its loss used unroll k
}


def _lags(pull_every=None):
    e = LAG_BY_HAND
    every = e["unrolls_per_weight_pull"] if pull_every is None else pull_every
    published = e["published_at_start"]
    behaviour = [published[k - k % every] for k in range(len(published))]
    return [used - b for used, b in zip(e["learner_version_when_used"], behaviour, strict=True)]


def check_lag(answer) -> Verdict:
    """Exercise: the policy lag of each of the 8 unrolls of ``LAG_BY_HAND``."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (len(LAG_BY_HAND["published_at_start"]),))
    if arr is None:
        return report(False, tr("give 8 numbers, one per unroll, got {answer!r}.", answer=answer))
    right = np.array(_lags())
    if np.array_equal(arr, right):
        return report(True, tr("the behaviour version is the one pulled last (before unrolls 0, 3, 6), so the lag "
                               "grows by a step or two within each group of 3 and drops after each pull."))
    if np.array_equal(arr, _lags(pull_every=1)):
        return report(False, tr("that is the lag of an actor that pulls before every unroll; this one pulls only "
                                "every 3 unrolls and acts with the weights of its last pull in between."))
    if np.array_equal(arr, -right):
        return report(False, tr("the sign: lag = learner version minus behaviour version, never negative."))
    wrong = np.flatnonzero(arr != right)
    return report(False, tr("unroll {unroll} is off: its behaviour version is the version of the last pull at "
                            "or before it (pulls before unrolls 0, 3, 6); lag = learner version when used minus "
                            "that.", unroll=wrong[0]))


# ---------------------------------------------------------------------------------------------------------
# 05 IMPALA, exercise 4: rho-bar and c-bar, truncation, what rho_mean says
# ---------------------------------------------------------------------------------------------------------

IMPALA_CHOICES = {
    "a": N_("rho-bar decides which value function v_s estimates: V of pi when it is infinite, the value of a policy "
            "between mu and pi when it is small."),
    "b": N_("c-bar decides which value function v_s estimates; rho-bar only changes how fast the correction "
            "contracts."),
    "c": N_("On-policy (pi = mu), with rho-bar and c-bar at least 1 and lam = 1, v_s is the n-step bootstrapped "
            "return."),
    "d": N_("When a time limit truncates an episode inside an unroll, the learner treats it like a termination: "
            "that step's target does not bootstrap."),
    "e": N_("The mean of pi/mu over actions sampled from mu is 1 in expectation whatever pi and mu are, so a "
            "rho_mean near 1 does not show that the two policies are close."),
    "f": N_("With off_policy_correction=\"none\" the learner drops unrolls whose policy lag is too large."),
}
_IMPALA_TRUE = {"a", "c", "e"}


def check_impala_statements(answer) -> Verdict:
    """Exercise: the letters of the TRUE statements in ``IMPALA_CHOICES``."""
    hints = {
        "b": tr("b: it is the other way round. rho_t weights the TD errors themselves and so sets the fixed point; "
                "c_t only weights how much of later corrections flows back."),
        "d": tr("d: a time limit only cuts the episode off. learner_inputs adds gamma * V(final observation) to that "
                "step's reward: the target still bootstraps, from the observation the actor kept."),
        "f": tr("f: off_policy_correction=\"none\" keeps every unroll and takes every ratio as 1, as if the data "
                "were on-policy."),
    }
    return check_choices(answer, IMPALA_CHOICES, _IMPALA_TRUE,
                         tr("rho-bar sets the fixed point, c-bar the speed (variance); on-policy V-trace is the "
                            "n-step return; and E_mu[pi/mu] = sum_a pi(a) = 1, so the spread of the ratios, not their "
                            "mean, shows how far the policies drifted apart."),
                         hints)


# ---------------------------------------------------------------------------------------------------------
# 05 IMPALA, exercise 5: why the uncorrected learner fails on the cliff
# ---------------------------------------------------------------------------------------------------------

CLIFF_CHOICES = {
    "a": N_("A critic that is off by the same c in every advantage adds c * (mu - pi) to the uncorrected expected "
            "step of a state's logits; while the actors explore, mu is not pi, so that term does not vanish."),
    "b": N_("Weighted by pi/mu, the same error c adds nothing to the expected step: sum_a pi(a) c (e_a - pi) = 0."),
    "c": N_("The uncorrected learner learned the safe path along the top row, as SARSA does in Sutton & Barto's "
            "Example 6.6."),
    "d": N_("V-trace helps because the explored actions have ratios pi/mu far above 1, and it clips them to 1."),
    "e": N_("With c < 0 (every return below what the critic expects), c * (mu - pi) = |c| * eps * (pi - 1/K) "
            "raises the logit of every action that pi gives more than 1/K and lowers the others, whatever the "
            "rewards."),
}
_CLIFF_TRUE = {"a", "b", "e"}


def check_cliff_statements(answer) -> Verdict:
    """Exercise: the letters of the TRUE statements in ``CLIFF_CHOICES``."""
    hints = {
        "c": tr("c: look at the greedy paths in section 8: the uncorrected policy's path never reaches G at all."),
        "d": tr("d: an explored action is one pi hardly takes: pi(a) is near 0 while mu(a) >= eps / K, so pi/mu is "
                "near 0, and V-trace (like 1-step importance sampling) gives that step almost no weight."),
    }
    return check_choices(answer, CLIFF_CHOICES, _CLIFF_TRUE,
                         tr("the uncorrected step is the corrected one plus c * (mu - pi): a critic's error becomes a "
                            "push towards whatever pi already prefers, for as long as mu explores; the weights pi/mu "
                            "cancel it."),
                         hints)


SOLUTIONS = {            # the reference answers of notebook 05's exercises; look only after trying
    "weights": lambda: tuple(x.round(4).tolist() for x in _weights_reference()),
    "vs_by_hand": lambda: _vs().round(4).tolist(),
    "lag": _lags,
    "impala_statements": lambda: sorted(_IMPALA_TRUE),
    "cliff_statements": lambda: sorted(_CLIFF_TRUE),
}
