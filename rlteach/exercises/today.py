"""Exercises of notebook 08 (what the field runs today): checkers and reference solutions (``SOLUTIONS``)."""

from __future__ import annotations

import numpy as np

from rlteach.exercises.check import NOT_ATTEMPTED, Verdict, as_array, check_choices, report
from rlteach.messages import N_, tr

# ---------------------------------------------------------------------------------------------------------
# 08, exercise 1: the clipped surrogate's gradient, by hand
# ---------------------------------------------------------------------------------------------------------

CLIP_BY_HAND = {
    "clip_eps": 0.2,
    "ratios": [1.1, 1.3, 0.7, 0.7, 1.3],        # r_t = pi_theta(a_t|s_t) / pi_theta_old(a_t|s_t)
    "advantages": [1.0, 2.0, 2.0, -1.0, -1.0],  # A_t
}


def _clip_slopes(e=None) -> np.ndarray:
    """d/dr of min(r A, clip(r, 1 - eps, 1 + eps) A) at each step: A where the unclipped term is the min (or
    the two are equal inside the range), 0 where the clipped constant is strictly smaller."""
    e = CLIP_BY_HAND if e is None else e
    r, a, eps = np.asarray(e["ratios"]), np.asarray(e["advantages"]), e["clip_eps"]
    clipped = np.clip(r, 1 - eps, 1 + eps) * a
    return np.where(clipped < r * a, 0.0, a)


def check_clip_slopes(answer) -> Verdict:
    """Exercise: for each step of ``CLIP_BY_HAND``, the derivative in r_t of min(r_t A_t, clip(r_t) A_t)."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    n = len(CLIP_BY_HAND["ratios"])
    arr = as_array(answer, (n,))
    if arr is None:
        return report(False, tr("give {n} numbers, one slope per step, got {answer!r}.", n=n, answer=answer))
    slopes = _clip_slopes()
    if np.allclose(arr, slopes):
        return report(True, tr("the clip stops a step only on the side its advantage pushes towards: r above "
                               "1 + eps with A > 0, r below 1 - eps with A < 0. On the other side the slope stays A, "
                               "so a step that went the wrong way can come back."))
    a = np.asarray(CLIP_BY_HAND["advantages"])
    if np.allclose(arr, a):
        return report(False, tr("that is the slope without the clip. Where is min(r A, clip(r) A) the clipped, "
                                "constant term? (steps 2 and 4)"))
    outside = np.abs(np.asarray(CLIP_BY_HAND["ratios"]) - 1) > CLIP_BY_HAND["clip_eps"]
    if np.allclose(arr, np.where(outside, 0.0, a)):
        return report(False, tr("outside the range is not enough: the min keeps r A where r A is the smaller. Look "
                                "at step 3 (r = 0.7, A = 2) and step 5 (r = 1.3, A = -1)."))
    wrong = int(np.flatnonzero(~np.isclose(arr, slopes))[0])
    return report(False, tr("step {step}: compare r A with clip(r) A there; the slope is A if r A is the min, "
                            "0 if the clipped constant is.", step=wrong + 1))


# ---------------------------------------------------------------------------------------------------------
# 08, exercise 2: what an all-reduce sends, against a parameter server
# ---------------------------------------------------------------------------------------------------------

ALLREDUCE_BY_HAND = {
    "num_workers": 4,
    "parameters": 9_155,      # CartPole's ActorCritic of rlteach.nets with hidden (64, 64): 4,610 + 4,545
    "bytes_per_number": 4,    # float32
}


def _traffic(e=None) -> tuple[float, float]:
    """(bytes each worker sends in one ring all-reduce, bytes a parameter server receives per round)."""
    e = ALLREDUCE_BY_HAND if e is None else e
    n, size = e["num_workers"], e["parameters"] * e["bytes_per_number"]
    return 2 * (n - 1) / n * size, n * size


def check_allreduce_traffic(answer) -> Verdict:
    """Exercise: (bytes each worker sends per ring all-reduce, bytes the parameter server receives per round)."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (2,))
    if arr is None:
        return report(False, tr("give two numbers (ring: bytes each worker sends; server: bytes it receives), "
                                "got {answer!r}.", answer=answer))
    ring, server = _traffic()
    size = ALLREDUCE_BY_HAND["parameters"] * ALLREDUCE_BY_HAND["bytes_per_number"]
    n = ALLREDUCE_BY_HAND["num_workers"]
    if np.allclose(arr, [ring, server], rtol=1e-3):
        return report(True, tr("each worker sends 2(N - 1)/N = {share:.2f}x its gradient here, never 2x however "
                               "large N grows, while the server's link carries N gradients in ({n}x here) and N "
                               "copies of the weights out: why data-parallel training uses all-reduce.",
                               share=ring / size, n=n))
    if np.isclose(arr[0], (n - 1) / n * size, rtol=1e-3):
        return report(False, tr("that is one half of the ring: reduce-scatter sends (N - 1)/N of the gradient, and "
                                "the all-gather that follows sends as much again."))
    if np.isclose(arr[0], 2 * (n - 1) * size, rtol=1e-3) or np.isclose(arr[0], (n - 1) * size, rtol=1e-3):
        return report(False, tr("each message in the ring carries one chunk, 1/N of the gradient, not all of it."))
    if not np.isclose(arr[0], ring, rtol=1e-3):
        return report(False, tr("ring: 2 (N - 1) steps, each sending one chunk of size/N bytes."))
    return report(False, tr("server: every worker sends its whole gradient to it, parameters x 4 bytes each."))


# ---------------------------------------------------------------------------------------------------------
# 08, exercise 3: DD-PPO and central inference, true or false
# ---------------------------------------------------------------------------------------------------------

TODAY_CHOICES = {
    "a": N_("DD-PPO's replicas stay identical because they start from the same weights and every one applies the "
            "same averaged gradient with the same optimizer."),
    "b": N_("With 2 workers and the paper's preemption threshold of 0.6, the slower worker's rollout is cut as "
            "soon as the faster one has finished."),
    "c": N_("SEED RL's actors hold no copy of the network, so no weights are ever sent to them."),
    "d": N_("Central inference acts with the learner's newest weights, so there is no policy lag at all and "
            "V-trace has nothing to correct."),
    "e": N_("With central inference an actor never waits longer for its actions than it would take to compute "
            "them itself with its own network."),
    "f": N_("In RLlib, a PPO config with num_learners=2 trains two Learner replicas that average their gradients "
            "by all-reduce at every step."),
}
_TODAY_TRUE = {"a", "c", "f"}


def check_today_statements(answer) -> Verdict:
    """Exercise: the letters of the TRUE statements in ``TODAY_CHOICES``."""
    hints = {
        "b": tr("b: the cut needs ceil(0.6 x 2) = 2 finished workers, and a worker still rolling out cannot count "
                "itself: only the other one can have finished, so 0.6 never cuts with 2 workers (section 2 used 0.5)."),
        "d": tr("d: the learner updates between the steps of one unroll, so an unroll's first steps were chosen by "
                "older weights (records['policy_lag'] is small, not 0); V-trace still corrects that."),
        "e": tr("e: every step pays a message each way and the wait for the server's batch (records['round_trip_ms']), "
                "which can take longer than a forward of its own; what central inference saves is the actors' "
                "forwards and GIL time, not latency."),
    }
    return check_choices(answer, TODAY_CHOICES, _TODAY_TRUE,
                         tr("DD-PPO trades the parameter server for a collective every worker joins; SEED trades the "
                            "actors' networks for a round trip per step."), hints,
                         missing=N_("one more is true: look again at {letter} (sections 2 and 3)."))


SOLUTIONS = {
    "clip_slopes": lambda: _clip_slopes().tolist(),
    "allreduce_traffic": lambda: list(_traffic()),
    "today_statements": lambda: sorted(_TODAY_TRUE),
}
