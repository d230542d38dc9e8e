"""Where IMPALA's off-policy data comes from, beyond the policy lag (Espeholt et al. 2018, section 5.2).

``impala.py`` imports both sources below; with their defaults (no exploration, no replay) IMPALA's only
off-policy data is the lag between the actors' copy of the policy, mu, and the learner's pi.

Exploring actors (``actor_epsilon`` = epsilon)
    An actor samples from the mixture of its policy and the uniform policy over the K actions,

        mu(a|x) = (1 - epsilon) * pi_actor(a|x) + epsilon / K                     (``behaviour_log_probs``)

    and records log mu(a|x) of the action it took, as Ape-X's actors explore with their own epsilon. The
    learner wants pi alone, so every explored step is off-policy by construction, even with no lag at all.

Experience replay (``replay_fraction``, ``replay_capacity_unrolls``)
    The paper's replay experiment draws half of each learner batch uniformly from past unrolls. ``Replay``
    keeps the last ``capacity`` unrolls the learner used and hands back ``k`` of them, drawn uniformly
    without replacement. A replayed unroll was produced by an old mu: its lag is as old as the buffer.

Which correction the learner applies to that data is ``impala.Config.off_policy_correction``; the paper's
table compares no correction, epsilon-correction, 1-step importance sampling and V-trace. Its
epsilon-correction only adds a small epsilon inside log pi so that it cannot underflow in the gradient:
with the network's log-softmax here, log pi never underflows, so epsilon-correction equals no correction
and this package does not run it.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch


def behaviour_log_probs(logits: torch.Tensor, epsilon: float) -> torch.Tensor:
    """log mu(.|x), mu = (1 - epsilon) * softmax(logits) + epsilon / K, for logits [..., K].
    epsilon = 0: log_softmax(logits), exactly the learner's log pi of the same weights."""
    log_probs = torch.log_softmax(logits, -1)
    if epsilon == 0:
        return log_probs
    return torch.log((1 - epsilon) * log_probs.exp() + epsilon / logits.shape[-1])


class Replay:
    """The last ``capacity`` unrolls, each kept whole; ``sample(k)`` draws k of them uniformly, without
    replacement (fewer while it holds fewer), from its own numpy ``generator``."""

    def __init__(self, capacity: int, generator: np.random.Generator):
        self.unrolls = deque(maxlen=capacity)       # the oldest falls out when a new one comes in
        self.generator = generator

    def __len__(self):
        return len(self.unrolls)

    def add(self, unrolls):
        self.unrolls.extend(unrolls)

    def sample(self, k: int) -> list:
        k = min(k, len(self.unrolls))
        return [self.unrolls[i] for i in self.generator.choice(len(self.unrolls), size=k, replace=False)]


def expected_logit_step(logits, advantages, epsilon: float, corrected: bool):
    """The expected policy-gradient step on ONE state's logits z (numpy [K]) when the actions come from mu
    (``behaviour_log_probs``) and action a brings the advantage estimate ``advantages[a]``. The gradient of
    log pi(a) with respect to z is e_a - pi, so

        uncorrected:  sum_a mu(a) A(a) (e_a - pi)
        corrected:    sum_a mu(a) (pi(a) / mu(a)) A(a) (e_a - pi) = sum_a pi(a) A(a) (e_a - pi)

    A critic that is off by the same c in every advantage adds c * (mu - pi) to the uncorrected step (mu is
    not pi while the actors explore) and nothing to the corrected one (sum_a pi(a) c (e_a - pi) = 0)."""
    logits, advantages = np.asarray(logits, float), np.asarray(advantages, float)
    pi = np.exp(logits - logits.max())
    pi /= pi.sum()
    weights = pi if corrected else (1 - epsilon) * pi + epsilon / len(pi)       # pi, or mu
    return weights * advantages - pi * (weights @ advantages)
