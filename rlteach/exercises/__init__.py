"""Checkers for the notebooks' exercises, and their reference solutions.

Each exercise cell in a notebook starts as ``answer = ...`` (Python's Ellipsis) and ends with a call to a
checker here. A checker prints one helpful line and returns True (right) or False (not attempted yet, or
wrong). It never raises on a wrong answer, so a notebook with untouched exercises still runs top to bottom.
Where a wrong answer matches a common mistake, the message names that mistake.

One module per notebook, each with its checkers, its questions and its own ``SOLUTIONS``:
``exercises.start`` (00), ``exercises.advantage`` (01), ``exercises.policy_gradient`` (02), ``exercises.a3c``
(03), ``exercises.apex`` (04), ``exercises.impala`` (05), ``exercises.scaling`` (06), ``exercises.side_by_side`` (07),
``exercises.today`` (08);
``exercises.check`` holds what the checkers share. ``SOLUTIONS`` here gathers them all; look only after you
have tried.
"""

from rlteach.exercises import a3c, advantage, apex, impala, policy_gradient, scaling, side_by_side, start, today
from rlteach.exercises.a3c import (
    BACKEND_CHOICES,
    RMSPROP_BY_HAND,
    STALENESS_TIMELINE,
    check_backend_statements,
    check_rmsprop_step,
    check_staleness,
)
from rlteach.exercises.advantage import GAE_BY_HAND, check_exact_advantage, check_gae_by_hand, check_returns_function
from rlteach.exercises.apex import (
    APEX_CHOICES,
    CLIFFWALK_GAP,
    LADDER_QUESTION,
    NSTEP_BY_HAND,
    PRIORITY_BY_HAND,
    check_apex_statements,
    check_cliffwalk_gap,
    check_ladder_epsilon,
    check_nstep_targets,
    check_priorities,
)
from rlteach.exercises.check import NOT_ATTEMPTED, Verdict
from rlteach.exercises.impala import (
    CLIFF_CHOICES,
    IMPALA_CHOICES,
    LAG_BY_HAND,
    VS_BY_HAND,
    WEIGHTS_BY_HAND,
    check_cliff_statements,
    check_impala_statements,
    check_lag,
    check_vs_by_hand,
    check_weights,
)
from rlteach.exercises.policy_gradient import (
    AUTORESET_ROLLOUT,
    BASELINE_CHOICES,
    REINFORCE_BY_HAND,
    check_reinforce_loss,
    check_unbiased_baselines,
    check_valid_mask,
)
from rlteach.exercises.scaling import (
    APEX_TRAFFIC,
    SCALING_CHOICES,
    SERVER_BY_HAND,
    check_apex_traffic,
    check_scaling_statements,
    check_server_saturation,
)
from rlteach.exercises.side_by_side import (
    GIL_QUESTION,
    STEPPING_BY_HAND,
    WORKLOAD_CHOICES,
    check_busy_speedups,
    check_stepping,
    check_workload_statements,
)
from rlteach.exercises.start import (
    ENV_LOOP,
    PARALLEL_CHOICES,
    STEP_COUNTING,
    check_env_loop,
    check_parallel_statements,
    check_step_counting,
)
from rlteach.exercises.today import (
    ALLREDUCE_BY_HAND,
    CLIP_BY_HAND,
    TODAY_CHOICES,
    check_allreduce_traffic,
    check_clip_slopes,
    check_today_statements,
)

__all__ = [
    "NOT_ATTEMPTED", "SOLUTIONS", "Verdict",
    "ENV_LOOP", "STEP_COUNTING", "PARALLEL_CHOICES", "check_env_loop", "check_step_counting",
    "check_parallel_statements",
    "GAE_BY_HAND", "check_gae_by_hand", "check_returns_function", "check_exact_advantage",
    "REINFORCE_BY_HAND", "AUTORESET_ROLLOUT", "BASELINE_CHOICES",
    "check_reinforce_loss", "check_valid_mask", "check_unbiased_baselines",
    "RMSPROP_BY_HAND", "STALENESS_TIMELINE", "BACKEND_CHOICES",
    "check_rmsprop_step", "check_staleness", "check_backend_statements",
    "PRIORITY_BY_HAND", "LADDER_QUESTION", "NSTEP_BY_HAND", "APEX_CHOICES", "CLIFFWALK_GAP",
    "check_priorities", "check_ladder_epsilon", "check_nstep_targets", "check_apex_statements",
    "check_cliffwalk_gap",
    "WEIGHTS_BY_HAND", "VS_BY_HAND", "LAG_BY_HAND", "IMPALA_CHOICES", "CLIFF_CHOICES",
    "check_weights", "check_vs_by_hand", "check_lag", "check_impala_statements",
    "check_cliff_statements",
    "SCALING_CHOICES", "SERVER_BY_HAND", "APEX_TRAFFIC",
    "check_scaling_statements", "check_server_saturation", "check_apex_traffic",
    "WORKLOAD_CHOICES", "STEPPING_BY_HAND", "GIL_QUESTION",
    "check_workload_statements", "check_stepping", "check_busy_speedups",
    "CLIP_BY_HAND", "ALLREDUCE_BY_HAND", "TODAY_CHOICES",
    "check_clip_slopes", "check_allreduce_traffic", "check_today_statements",
]

SOLUTIONS = {**start.SOLUTIONS, **advantage.SOLUTIONS, **policy_gradient.SOLUTIONS, **a3c.SOLUTIONS,
             **apex.SOLUTIONS, **impala.SOLUTIONS, **scaling.SOLUTIONS, **side_by_side.SOLUTIONS,
             **today.SOLUTIONS}
