"""Checkers for the notebooks' exercises, and their reference solutions.

Each exercise cell in a notebook starts as ``answer = ...`` (Python's Ellipsis) and ends with a call to a
checker here. A checker prints one helpful line and returns True (right) or False (not attempted yet, or
wrong). It never raises on a wrong answer, so a notebook with untouched exercises still runs top to bottom.
Where a wrong answer matches a common mistake, the message names that mistake.

The reference solutions are in ``SOLUTIONS``; look only after you have tried. One module per notebook:
``exercises.advantage`` (01), ``exercises.policy_gradient`` (02), ``exercises.a3c`` (03), ``exercises.apex``
(04), ``exercises.impala`` (05); ``exercises.check`` holds what the checkers share.
"""

from rlteach.apex import epsilon_ladder
from rlteach.exercises.a3c import (
    _BACKEND_TRUE,
    BACKEND_CHOICES,
    RMSPROP_BY_HAND,
    STALENESS_TIMELINE,
    _rmsprop_reference,
    _staleness,
    check_backend_statements,
    check_rmsprop_step,
    check_staleness,
)
from rlteach.exercises.advantage import (
    GAE_BY_HAND,
    _exact_chain_advantage,
    _gae_by_hand,
    _solution_returns,
    check_exact_advantage,
    check_gae_by_hand,
    check_returns_function,
)
from rlteach.exercises.apex import (
    _APEX_TRUE,
    APEX_CHOICES,
    LADDER_QUESTION,
    NSTEP_BY_HAND,
    PRIORITY_BY_HAND,
    _nstep_targets,
    _priority_reference,
    check_apex_statements,
    check_ladder_epsilon,
    check_nstep_targets,
    check_priorities,
)
from rlteach.exercises.check import NOT_ATTEMPTED
from rlteach.exercises.impala import (
    _IMPALA_TRUE,
    IMPALA_CHOICES,
    LAG_BY_HAND,
    VS_BY_HAND,
    WEIGHTS_BY_HAND,
    _lags,
    _vs,
    _weights_reference,
    check_impala_statements,
    check_lag,
    check_vs_by_hand,
    check_weights,
)
from rlteach.exercises.policy_gradient import (
    _UNBIASED,
    AUTORESET_ROLLOUT,
    BASELINE_CHOICES,
    REINFORCE_BY_HAND,
    _reinforce_by_hand,
    _valid_mask,
    check_reinforce_loss,
    check_unbiased_baselines,
    check_valid_mask,
)

__all__ = [
    "NOT_ATTEMPTED", "SOLUTIONS",
    "GAE_BY_HAND", "check_gae_by_hand", "check_returns_function", "check_exact_advantage",
    "REINFORCE_BY_HAND", "AUTORESET_ROLLOUT", "BASELINE_CHOICES",
    "check_reinforce_loss", "check_valid_mask", "check_unbiased_baselines",
    "RMSPROP_BY_HAND", "STALENESS_TIMELINE", "BACKEND_CHOICES",
    "check_rmsprop_step", "check_staleness", "check_backend_statements",
    "PRIORITY_BY_HAND", "LADDER_QUESTION", "NSTEP_BY_HAND", "APEX_CHOICES",
    "check_priorities", "check_ladder_epsilon", "check_nstep_targets", "check_apex_statements",
    "WEIGHTS_BY_HAND", "VS_BY_HAND", "LAG_BY_HAND", "IMPALA_CHOICES",
    "check_weights", "check_vs_by_hand", "check_lag", "check_impala_statements",
]

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
    "priorities": lambda: tuple(x.round(4).tolist() for x in _priority_reference()),
    "ladder_epsilon": lambda: round(float(epsilon_ladder(LADDER_QUESTION["num_actors"], LADDER_QUESTION["eps"],
                                                         LADDER_QUESTION["alpha"])[LADDER_QUESTION["actor"]]), 6),
    "nstep_targets": lambda: (_nstep_targets("terminated"), _nstep_targets("truncated")),
    "apex_statements": lambda: sorted(_APEX_TRUE),
    "weights": lambda: tuple(x.round(4).tolist() for x in _weights_reference()),
    "vs_by_hand": lambda: _vs().round(4).tolist(),
    "lag": _lags,
    "impala_statements": lambda: sorted(_IMPALA_TRUE),
}
