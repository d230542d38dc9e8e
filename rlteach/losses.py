"""The policy-gradient losses that A2C, A3C and IMPALA share: REINFORCE and the actor-critic loss.

The policy gradient theorem (Williams 1992; Sutton et al. 2000)
--------------------------------------------------------------
    grad J(theta) = E_pi[ A(s_t, a_t) * grad log pi_theta(a_t | s_t) ]

Push up the log-probability of actions in proportion to how much better than average they were. Any
function of the state alone can be subtracted from the return without changing the expectation (a
*baseline*), because E_a[grad log pi(a|s)] = 0; subtracting V(s) turns the return into an advantage and
cuts the variance of the estimate. An optimizer minimises, so each estimate is written as a loss whose
negative gradient it is:

    REINFORCE        L = -mean_t G_t * log pi(a_t|s_t)                                   (reinforce_loss)
    actor-critic     L = -mean_t A_t * log pi(a_t|s_t)                      policy term
                         + value_coef * mean_t (G_t - V(s_t))^2             value (critic) term
                         - entropy_coef * mean_t H(pi(.|s_t))               exploration bonus
                                                                             (actor_critic_loss)

with A_t the advantage (``rlteach.advantage.gae`` in A2C, V-trace in IMPALA) and G_t the return the critic is
trained towards (A2C: G_t = A_t + V(s_t), the lambda-return). G_t and A_t are constants: no gradient flows
through them.

Mean or sum (``reduction``): A2C and IMPALA average over the steps, as their batches have a fixed size.
A3C sums (``reduction="sum"``, see ``rlteach.a3c``): its rollouts end with the episode, so a mean would weigh
a step by 1 / its rollout's length; a sum weighs every step the same, as the paper's Algorithm S3 accumulates
the gradient step by step. ``mask`` (1 = a real step) drops padding and autoreset steps from both.
"""

from __future__ import annotations

from collections import namedtuple

import torch

LossTerms = namedtuple("LossTerms", ["total", "policy", "value", "entropy"])


REDUCTIONS = ("mean", "sum")


def masked_reduce(x: torch.Tensor, mask: torch.Tensor | None = None, reduction: str = "mean") -> torch.Tensor:
    """Mean of x over the entries where mask is 1 (all entries when mask is None); ``reduction="sum"``
    gives their sum instead (every entry then weighs the same, however many there are)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} is not allowed; choose one of {REDUCTIONS}")
    if mask is None:
        return x.mean() if reduction == "mean" else x.sum()
    mask = mask.to(x.dtype)
    total = (x * mask).sum()
    return total / mask.sum().clamp(min=1.0) if reduction == "mean" else total


def reinforce_loss(log_probs, returns, mask=None, reduction="mean") -> torch.Tensor:
    """REINFORCE: ``L = -mean_t G_t log pi(a_t|s_t)``, so ``-grad L`` estimates grad J.

    ``returns`` are treated as constants (no gradient flows through them); pass ``G_t - b(s_t)`` to use a
    baseline b. ``mask`` (1 = a real step) drops padding and autoreset steps. ``reduction="sum"`` sums over
    the steps instead of averaging them.
    """
    return -masked_reduce(returns.detach() * log_probs, mask, reduction)


def actor_critic_loss(log_probs, entropy, values, advantages, returns, value_coef, entropy_coef,
                      mask=None, reduction="mean") -> LossTerms:
    """The A2C/A3C/IMPALA loss: policy term + value_coef * value term - entropy_coef * entropy (module
    docstring).

    log_probs, entropy, values: from the network, with gradient. advantages, returns: targets, constants.
    ``reduction``: "mean" over the steps (A2C and IMPALA, whose batches have a fixed size) or "sum" (A3C,
    whose rollouts end with the episode: summing makes every step weigh the same, whatever its rollout's
    length, as the paper's Algorithm S3 accumulates the gradient step by step).
    """
    policy = reinforce_loss(log_probs, advantages, mask, reduction)
    value = masked_reduce((returns.detach() - values) ** 2, mask, reduction)
    ent = masked_reduce(entropy, mask, reduction)
    return LossTerms(policy + value_coef * value - entropy_coef * ent, policy, value, ent)
