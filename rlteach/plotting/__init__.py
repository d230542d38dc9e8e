"""Plots for the notebooks. Every function draws with matplotlib and returns the figure (never shows it),
so a notebook displays it and a test can inspect what was drawn.

    core   throughput, the system diagrams, bias and variance, learning curves (every algorithm), gradient
           noise, film strips and animations (notebooks 00-02, and every notebook's learning curves)
    mdp    the Bellman backup converging, sweep after sweep, to the exact V (notebook 01)
    a3c    the worker timeline, the staleness histogram, A3C against A2C in steps and seconds (notebook 03)
    apex   Q-learning's error, the Huber loss, the sum-tree, priorities and importance weights, the Blind
           Cliffwalk, the epsilon ladder (notebook 04)
    impala the actor/learner timeline, the policy lag and the queue, V-trace along one unroll, throughput
           against lag, the cliff's greedy paths and the corrections' scores over seeds (notebook 05)
    lab    the communication lab: a step's parts, the backends over repeats, the transports against payload
           size, Ape-X's two knobs, A3C's parameter-server runs, a synchronous server's waits (notebook 06)
    side_by_side  every design on three workloads: time to solve, env steps/s, where the time went, learning
           against wall-clock time, where the field went (notebook 07, make bench)

Import from here: ``from rlteach.plotting import plot_learning_curves`` works for every plot.
"""

from rlteach.plotting.a3c import (
    TIMELINE_PHASES,
    plot_staleness,
    plot_steps_and_seconds,
    plot_timeline,
    plot_worker_scaling,
)
from rlteach.plotting.apex import (
    plot_blind_cliffwalk,
    plot_epsilon_ladder,
    plot_huber,
    plot_priorities,
    plot_q_learning,
    plot_sum_tree,
    priority_table,
    sum_tree_walk,
)
from rlteach.plotting.core import (
    animate_frames,
    curve_band,
    plot_bias_variance,
    plot_filmstrip,
    plot_gradient_variance,
    plot_learning_curves,
    plot_parallelism_diagram,
    plot_system_diagram,
    plot_throughput,
)
from rlteach.plotting.impala import (
    lag_per_update,
    plot_actor_learner_timeline,
    plot_cliff_paths,
    plot_correction_scores,
    plot_lag,
    plot_throughput_lag,
    plot_vtrace,
    throughput_and_lag,
    vtrace_table,
)
from rlteach.plotting.lab import (
    plot_backends,
    plot_knobs,
    plot_server_runs,
    plot_step_costs,
    plot_sync_timeline,
    plot_transport,
)
from rlteach.plotting.mdp import plot_bellman_iteration
from rlteach.plotting.side_by_side import plot_curves_against_time, plot_field_map, plot_side_by_side
from rlteach.plotting.today import (
    plot_batch_sizes,
    plot_clip_objective,
    plot_preemption,
    plot_ring_allreduce,
    plot_round_times,
)

__all__ = [
    "plot_side_by_side", "plot_curves_against_time", "plot_field_map",
    "plot_throughput", "plot_system_diagram", "plot_parallelism_diagram", "plot_bias_variance",
    "plot_bellman_iteration",
    "curve_band", "plot_learning_curves", "plot_gradient_variance", "plot_filmstrip", "animate_frames",
    "TIMELINE_PHASES", "plot_timeline", "plot_staleness", "plot_steps_and_seconds", "plot_worker_scaling",
    "plot_q_learning", "plot_huber",
    "plot_sum_tree", "sum_tree_walk", "priority_table", "plot_priorities", "plot_epsilon_ladder",
    "plot_blind_cliffwalk",
    "plot_actor_learner_timeline", "plot_lag", "lag_per_update", "vtrace_table", "plot_vtrace",
    "throughput_and_lag", "plot_throughput_lag", "plot_cliff_paths", "plot_correction_scores",
    "plot_step_costs", "plot_backends", "plot_transport", "plot_knobs", "plot_server_runs", "plot_sync_timeline",
    "plot_clip_objective", "plot_ring_allreduce", "plot_round_times", "plot_preemption", "plot_batch_sizes",
]
