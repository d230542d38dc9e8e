"""Exercises of notebook 02 (policy gradient): checkers and reference solutions."""

from __future__ import annotations

import numpy as np
import torch

from rlteach.exercises.check import NOT_ATTEMPTED, Verdict, as_array, choice_letters, report
from rlteach.losses import reinforce_loss
from rlteach.messages import N_, tr

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


def check_reinforce_loss(answer) -> Verdict:
    """Exercise: the REINFORCE loss of ``REINFORCE_BY_HAND`` with its baseline, one number."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, ())
    if arr is None:
        return report(False, tr("give one number, the loss L, got {answer!r}.", answer=answer))
    x = float(arr)
    if np.isclose(x, _reinforce_by_hand(), atol=1e-3):
        return report(True, tr("L = -mean_t (G_t - b) log pi(a_t|s_t); gradient DEscent on L is ascent on J."))
    if np.isclose(x, _reinforce_by_hand(sign=-1.0), atol=1e-3):
        return report(False, tr("the sign is flipped. The optimizer MINIMISES the loss, and we want to "
                                "maximise J, so the loss is MINUS the weighted log-probabilities."))
    if np.isclose(x, _reinforce_by_hand(reduce="sum"), atol=1e-3):
        return report(False, tr("that is the sum over the 3 steps; reinforce_loss takes the mean."))
    if np.isclose(abs(x), abs(_reinforce_by_hand(baseline=0.0)), atol=1e-3):
        return report(False, tr("subtract the baseline b = 1.5 from every return first: weights G_t - b."))
    return report(False, tr("weight each log pi(a_t|s_t) by (G_t - b), average over the 3 steps, and negate."))


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


def check_valid_mask(answer) -> Verdict:
    """Exercise: the [6, 2] ``valid`` mask (True = a real transition) of ``AUTORESET_ROLLOUT``."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (6, 2))
    if arr is None:
        return report(False, tr("give a [6, 2] array of True/False: one row per step, one column per env."))
    arr = arr.astype(bool)
    if (arr == _valid_mask()).all():
        return report(True, tr("only the step right after an episode's end is masked: it ignored the action, "
                               "returned reward 0 and the first observation of the next episode."))
    if (arr == _valid_mask(shift=False)).all():
        return report(False, tr("the step that ENDS an episode is a real transition (its reward and its "
                                "final observation are real). Mask the step AFTER it, when the env resets."))
    if (arr == _valid_mask(count_truncated=False)).all():
        return report(False, tr("a truncated episode is reset on the next step too: mask the step after "
                                "a truncation as well."))
    if (arr == _valid_mask(carry=False)).all():
        return report(False, tr("env 1's episode ended on the previous rollout's last step (after_end), "
                                "so its step 0 here is an autoreset step."))
    if arr.all():
        return report(False, tr("some steps are autoreset steps: after an episode ends, the next step resets "
                                "the env and is not a transition of the MDP."))
    return report(False, tr("walk down each column: a step is valid unless the previous VALID step terminated "
                            "or was truncated (start from after_end)."))


# ---------------------------------------------------------------------------------------------------------
# 02 policy gradient, exercise 3: which baselines keep the gradient unbiased?
# ---------------------------------------------------------------------------------------------------------

BASELINE_CHOICES = {
    "a": N_("a constant, b = 20"),
    "b": N_("the critic's value V(s_t), any function of the state s_t"),
    "c": N_("Q(s_t, a_t), the value of the action that was actually taken"),
    "d": N_("the average return of the PREVIOUS batch of episodes"),
    "e": N_("the return G_t itself"),
}
_UNBIASED = {"a", "b", "d"}


def check_unbiased_baselines(answer) -> Verdict:
    """Exercise: the letters of ``BASELINE_CHOICES`` whose baseline keeps E[(G_t - b) grad log pi] = grad J."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    picked = choice_letters(answer, BASELINE_CHOICES)
    if isinstance(picked, str):
        return report(False, picked)
    if picked == _UNBIASED:
        return report(True, tr("E_a[grad log pi(a|s)] = 0 in every state, so any b not depending on a_t "
                               "(or on anything after it) leaves the expectation unchanged."))
    if "e" in picked:
        return report(False, tr("with b = G_t every weight G_t - b is 0: the estimate is always 0, not grad J."))
    if "c" in picked:
        return report(False, tr("Q(s_t, a_t) depends on the action taken, so E_a[b grad log pi] is not 0: "
                                "that baseline cancels part of the very signal you want. (Q - V, the advantage, is "
                                "fine as a weight; as a baseline only the V part is.)"))
    if "d" not in picked:
        return report(False, tr("the previous batch's average was fixed before this batch was played: to this "
                                "batch it is a constant, so it is as harmless as a."))
    return report(False, tr("E_a[grad log pi(a|s)] = 0 for every state s: any b that does not depend on the "
                            "action a_t, a number or a function of s_t, keeps the expectation."))


SOLUTIONS = {            # the reference answers of notebook 02's exercises; look only after trying
    "reinforce_loss": lambda: round(_reinforce_by_hand(), 4),
    "valid_mask": lambda: _valid_mask().tolist(),
    "unbiased_baselines": lambda: sorted(_UNBIASED),
}
