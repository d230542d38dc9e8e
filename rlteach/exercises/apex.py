"""Exercises of notebook 04 (Ape-X): checkers and reference solutions."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rlteach import blind_cliffwalk
from rlteach.apex import epsilon_ladder
from rlteach.exercises.check import (
    NOT_ATTEMPTED,
    Verdict,
    as_array,
    check_choices,
    close_pair,
    report,
    two_lists,
)
from rlteach.messages import N_, tr
from rlteach.replay import NStepBuilder, PrioritizedReplay

# ---------------------------------------------------------------------------------------------------------
# 04 Ape-X, exercise 1: P(i) and w_i by hand
# ---------------------------------------------------------------------------------------------------------

PRIORITY_BY_HAND = {
    "p": [4.0, 1.0, 0.25, 1.0],   # the priorities p_i = |delta_i| + eps of the 4 transitions in the replay
    "alpha": 0.5,
    "beta": 0.5,
}


def _priority_by_hand(alpha_used=True, normalise_P=True, normalise_w=True, beta_sign=-1.0):
    """(P, w) over the 4 transitions, w divided by its max over all 4; the keywords build the common mistakes."""
    e = PRIORITY_BY_HAND
    p = np.array(e["p"])
    scaled = p ** e["alpha"] if alpha_used else p
    P = scaled / scaled.sum() if normalise_P else scaled
    w = (len(p) * P) ** (beta_sign * e["beta"])
    return P, (w / w.max() if normalise_w else w)


def _priority_reference():
    """P from ``rlteach.replay.PrioritizedReplay`` itself (its sum-tree's leaves p^alpha over the total), and
    w = (N P)^-beta / max w over the 4 transitions (what ``sample`` computes for a batch holding all of them)."""
    e = PRIORITY_BY_HAND
    replay = PrioritizedReplay(4, alpha=e["alpha"])
    replay.add_batch({"x": np.zeros((4, 1))}, e["p"])
    P = replay.tree[np.arange(4)] / replay.tree.total
    w = (len(replay) * P) ** -e["beta"]
    return P, w / w.max()


def check_priorities(answer) -> Verdict:
    """Exercise: ``(P, w)`` for the 4 priorities of ``PRIORITY_BY_HAND``, 4 numbers each."""
    got = two_lists(answer, ("P", "w"), 4)
    if isinstance(got, Verdict):
        return got
    P, w = got

    def same(pair):
        return close_pair(got, pair, atol=1e-3)

    right = _priority_reference()
    if same(right):
        return report(True, tr("P(i) = p_i^alpha / sum_k p_k^alpha, w_i = (N P(i))^-beta / max w. (N cancels in "
                               "the normalised weights: it only matters for w before dividing by the max.)"))
    if np.allclose(P, right[1], atol=1e-3) and np.allclose(w, right[0], atol=1e-3):
        return report(False, tr("the order is (P, w): you gave them the other way round."))
    if same(_priority_by_hand(normalise_w=False)):
        return report(False, tr("P is right; now divide the weights by their largest value, so the largest w is 1 "
                                "(the learner only ever scales updates DOWN)."))
    if same(_priority_by_hand(beta_sign=1.0)):
        return report(False, tr("the exponent of the weights is -beta: a transition sampled MORE often than "
                                "uniform (N P > 1) must get a SMALLER weight."))
    if np.allclose(P, _priority_by_hand(alpha_used=False)[0], atol=1e-3):
        return report(False, tr("raise each p_i to the power alpha before normalising: P(i) = p_i^alpha / "
                                "sum_k p_k^alpha (alpha = 0.5 here: square roots)."))
    if np.allclose(P, _priority_by_hand(normalise_P=False)[0], atol=1e-3):
        return report(False, tr("those are p_i^alpha; divide by their sum so that the P(i) add up to 1."))
    if np.allclose(P, right[0], atol=1e-3):
        return report(False, tr("P is right; now w_i = (N P(i))^-beta with N = 4, then divide by the largest w."))
    return report(False, tr("first P(i) = p_i^alpha / sum_k p_k^alpha, then w_i = (N P(i))^-beta with N = 4, "
                            "then divide every w_i by the largest."))


# ---------------------------------------------------------------------------------------------------------
# 04 Ape-X, exercise 2: one rung of the epsilon ladder
# ---------------------------------------------------------------------------------------------------------

LADDER_QUESTION = {"num_actors": 5, "actor": 2, "eps": 0.4, "exponent": 7.0}   # actor i = 2, counting from 0


def _ladder_value(actor=None, denominator="N-1", one_plus=True):
    e = LADDER_QUESTION
    i = e["actor"] if actor is None else actor
    n = e["num_actors"] - 1 if denominator == "N-1" else e["num_actors"]
    return e["eps"] ** ((1 if one_plus else 0) + i / n * e["exponent"])


def check_ladder_epsilon(answer) -> Verdict:
    """Exercise: epsilon of actor ``LADDER_QUESTION["actor"]`` of ``num_actors`` on the Ape-X ladder."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, ())
    if arr is None:
        return report(False, tr("give one number, got {answer!r}.", answer=answer))
    e = LADDER_QUESTION
    right = float(epsilon_ladder(e["num_actors"], e["eps"], e["exponent"])[e["actor"]])

    def close(x):
        return np.isclose(float(arr), x, rtol=1e-3)

    if close(right):
        return report(True, tr("eps_2 = 0.4^(1 + 2/4 * 7) = 0.4^4.5 = {right:.4g}: half-way up the ladder in "
                               "the exponent, so half-way between 0.4 and 0.4^8 on a log scale.", right=right))
    if close(_ladder_value(denominator="N")):
        return report(False, tr("divide i by N - 1 = 4, not by N: the last actor (i = N - 1) must get the full "
                                "exponent 1 + exponent."))
    if close(_ladder_value(one_plus=False)):
        return report(False, tr("the exponent is 1 + i / (N - 1) * exponent: without the 1 + actor 0 would get "
                                "eps^0 = 1 and act at random."))
    if close(_ladder_value(actor=e["actor"] - 1)) or close(_ladder_value(actor=e["actor"] + 1)):
        return report(False, tr("that is a neighbouring actor's epsilon: actors count from 0, so actor 2 is "
                                "the third of the five."))
    if close(e["eps"] * (1 + e["actor"] / (e["num_actors"] - 1) * e["exponent"])):
        return report(False, tr("eps is RAISED to the power 1 + i / (N - 1) * exponent, not multiplied by it."))
    return report(False, tr("eps_i = eps ** (1 + i / (N - 1) * exponent) with eps = 0.4, exponent = 7, N = 5, i = 2."))


# ---------------------------------------------------------------------------------------------------------
# 04 Ape-X, exercise 3: n-step targets at the end of an episode
# ---------------------------------------------------------------------------------------------------------

NSTEP_BY_HAND = {
    "rewards": [1.0, 2.0, 0.0, 1.0],   # r_0 .. r_3; the episode ends at step 3 (after r_3, in s_4)
    "n": 3,
    "gamma": 0.5,
    "bootstrap": {3: 4.0, 4: 8.0},     # Q_target(s, a*) of each state an n-step target may bootstrap from,
                                       # keyed by the state's index (3: s_3)
}


def _nstep_targets(ending, discount_rule="gamma^k"):
    """G_t of the 4 transitions ``NStepBuilder`` emits when the episode ends ``ending`` ("terminated" or
    "truncated"): G = reward + (1 - done) * discount * Q(next_obs), discount = gamma^k for a transition of k
    rewards. ``discount_rule="gamma^n"`` builds the common mistake of bootstrapping a shortened window with
    gamma^n."""
    e = NSTEP_BY_HAND
    builder = NStepBuilder(e["n"], e["gamma"])
    last = len(e["rewards"]) - 1
    transitions = []
    for t, r in enumerate(e["rewards"]):            # obs s_t is the number t, so next_obs names its state
        end = t == last
        transitions += builder.add([t], 0, r, [t + 1], end and ending == "terminated", end and ending == "truncated")
    discount = {"gamma^k": lambda t: t["discount"], "gamma^n": lambda t: e["gamma"] ** e["n"]}[discount_rule]
    return [t["reward"] + (1.0 - t["done"]) * discount(t) * e["bootstrap"][int(t["next_obs"][0])]
            for t in transitions]


def check_nstep_targets(answer) -> Verdict:
    """Exercise: the 4 n-step targets (G_0 .. G_3) of ``NSTEP_BY_HAND``'s episode, (if terminated, if truncated)."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (2, 4))
    if arr is None:
        return report(False, tr("give two lists of four numbers, (terminated, truncated), got {answer!r}.",
                                answer=answer))
    term, trunc = arr
    right_term, right_trunc = _nstep_targets("terminated"), _nstep_targets("truncated")
    ok_term, ok_trunc = np.allclose(term, right_term, atol=1e-4), np.allclose(trunc, right_trunc, atol=1e-4)
    if ok_term and ok_trunc:
        return report(True, tr("near the end the window shrinks (k = 3, 2, 1); terminated: nothing to bootstrap; "
                               "truncated: bootstrap from the final state s_4 with gamma^k."))
    if np.allclose(term, right_trunc, atol=1e-4) and np.allclose(trunc, right_term, atol=1e-4):
        return report(False, tr("the order is (terminated, truncated): you gave them the other way round."))
    if np.allclose(trunc, right_term, atol=1e-4):
        return report(False, tr("a TRUNCATED episode was cut by a time limit, not ended: its last targets still "
                                "bootstrap from Q(s_4) (done = 0). Only a termination means no future."))
    if np.allclose(term, right_trunc, atol=1e-4):
        return report(False, tr("a TERMINATED episode has no future: the targets whose window reaches the end "
                                "have done = 1 and do not bootstrap."))
    if ok_term and np.allclose(trunc, _nstep_targets("truncated", discount_rule="gamma^n"), atol=1e-4):
        return report(False, tr("a shortened window of k < n rewards bootstraps with gamma^k, not gamma^n: the "
                                "bootstrap value is only k steps away."))
    if ok_term:
        return report(False, tr("the terminated case is right. Truncated: the same rewards, plus gamma^k * "
                                "Q(s_4) for each window that reaches the end."))
    if ok_trunc:
        return report(False, tr("the truncated case is right. Terminated: the same rewards, but no bootstrap "
                                "for the windows that reach the end."))
    return report(False, tr("G_0 covers r_0, r_1, r_2 and bootstraps from s_3; G_1, G_2, G_3 reach the end of "
                            "the episode (k = 3, 2, 1): discounted rewards, plus gamma^k Q(s_4) only if truncated."))


# ---------------------------------------------------------------------------------------------------------
# 04 Ape-X, exercise 4: what the sum-tree and the actors' priorities buy
# ---------------------------------------------------------------------------------------------------------

APEX_CHOICES = {
    "a": N_("The sum-tree samples transition i with probability p_i^alpha / sum_k p_k^alpha and changes one "
            "priority in O(log N) steps; a flat array of priorities would need O(N) for each sample."),
    "b": N_("With a sum-tree, sampling is uniform; the priorities only decide which transitions are overwritten "
            "first when the buffer is full."),
    "c": N_("Ape-X actors compute a new transition's first priority from their own |delta|, so it enters the "
            "replay with an informed priority instead of the largest priority seen so far, and the learner "
            "spends no time on it."),
    "d": N_("Because the actors compute initial priorities, the learner never needs to update priorities after "
            "its learning step."),
    "e": N_("With beta = 1 the importance weights make the expected update the same as under uniform sampling; "
            "with beta < 1 part of the bias towards high-priority transitions stays."),
    "f": N_("Each Ape-X actor anneals its epsilon from 1 down to its rung of the ladder over training, like DQN."),
}
_APEX_TRUE = {"a", "c", "e"}


def check_apex_statements(answer) -> Verdict:
    """Exercise: the letters of the TRUE statements in ``APEX_CHOICES``."""
    hints = {
        "b": tr("b: sampling follows the priorities (that is what the sum-tree is for); the oldest transition is "
                "overwritten first, whatever its priority."),
        "d": tr("d: the actors only set the FIRST priority. After each update the learner writes the new |delta| "
                "of every sampled transition back (learner_step: replay.update_priorities)."),
        "f": tr("f: Ape-X's epsilons are fixed; the spread over actors replaces a schedule over time."),
    }
    return check_choices(answer, APEX_CHOICES, _APEX_TRUE,
                         tr("the sum-tree makes sampling and updating by priority cheap; the actors' own "
                            "|delta| gives new transitions a meaningful first priority; beta sets how much of the "
                            "sampling bias the weights undo."),
                         hints)


# ---------------------------------------------------------------------------------------------------------
# 04 Ape-X, Blind Cliffwalk: predict the uniform/oracle gap at the next chain length
# ---------------------------------------------------------------------------------------------------------

CLIFFWALK_GAP = {"ns": tuple(range(2, 10)), "next_n": 10, "seeds": tuple(range(5)), "within_factor": 1.5}


@lru_cache(maxsize=1)
def _cliffwalk_medians() -> dict:
    """{(replay, n): median updates} of uniform and oracle at the table's last n and at next_n, over the
    question's seeds, from running the experiment (a few seconds, once)."""
    q = CLIFFWALK_GAP
    return blind_cliffwalk.medians(blind_cliffwalk.sweep([q["ns"][-1], q["next_n"]], ("uniform", "oracle"),
                                                         q["seeds"]))


def _cliffwalk_gap(n) -> float:
    med = _cliffwalk_medians()
    return med[("uniform", n)] / med[("oracle", n)]


def check_cliffwalk_gap(answer) -> Verdict:
    """Exercise: the gap (median updates of uniform replay / the oracle's) on the Blind Cliffwalk at
    n = ``CLIFFWALK_GAP["next_n"]``, the same seeds; right within a factor ``within_factor`` either way."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, ())
    if arr is None or not np.isfinite(arr) or float(arr) <= 0:
        return report(False, tr("give one positive number (median uniform updates / median oracle updates), "
                                "got {answer!r}.", answer=answer))
    q, guess, med = CLIFFWALK_GAP, float(arr), _cliffwalk_medians()
    last, n = q["ns"][-1], q["next_n"]
    right = _cliffwalk_gap(n)
    if 1 / q["within_factor"] <= guess / right <= q["within_factor"]:
        uniform = (med[("uniform", last)], med[("uniform", n)])
        oracle = (med[("oracle", last)], med[("oracle", n)])
        return report(True, tr("the gap at n = {n} is {right:.3g}, you said {guess:.3g}: from n = {last} to n = {n} "
                               "uniform's median went from {uniform_last:,.0f} to {uniform_n:,.0f} updates "
                               "(x{uniform_growth:.2g}), the oracle's from {oracle_last:,.0f} to {oracle_n:,.0f} "
                               "(x{oracle_growth:.2g}). One state more doubles the memory the one rewarding "
                               "transition hides in; the oracle goes straight to it.",
                               n=n, right=right, guess=guess, last=last, uniform_last=uniform[0], uniform_n=uniform[1],
                               uniform_growth=uniform[1] / uniform[0], oracle_last=oracle[0], oracle_n=oracle[1],
                               oracle_growth=oracle[1] / oracle[0]))
    if guess < right:
        return report(False, tr("{guess:.3g} is too small. One state more doubles the memory, and uniform replay "
                                "must find the one rewarding transition among twice as many; the oracle picks it at "
                                "once. Multiply the table's last gap by the factor it grew by over the last few rows.",
                                guess=guess))
    return report(False, tr("{guess:.3g} is too large. The oracle too needs more updates on a longer chain (one "
                            "more value to carry back), and uniform's count grows roughly as the memory does (twice "
                            "as large): multiply the table's last gap by the factor it grew by over the last few rows.",
                            guess=guess))


SOLUTIONS = {            # the reference answers of notebook 04's exercises; look only after trying
    "priorities": lambda: tuple(x.round(4).tolist() for x in _priority_reference()),
    "ladder_epsilon": lambda: round(float(epsilon_ladder(LADDER_QUESTION["num_actors"], LADDER_QUESTION["eps"],
                                                         LADDER_QUESTION["exponent"])[LADDER_QUESTION["actor"]]), 6),
    "nstep_targets": lambda: (_nstep_targets("terminated"), _nstep_targets("truncated")),
    "apex_statements": lambda: sorted(_APEX_TRUE),
    "cliffwalk_gap": lambda: round(_cliffwalk_gap(CLIFFWALK_GAP["next_n"]), 1),
}
