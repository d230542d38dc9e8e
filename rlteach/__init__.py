"""rlteach: a workbook for distributed reinforcement learning.

One algorithm per module, each readable top to bottom; the notebooks in ``notebooks/`` import them.

    advantage   returns, TD errors, n-step returns, GAE (pure math, numpy and torch)
    mdp         a small chain MDP whose V, Q and A are computed exactly
    losses      REINFORCE and the actor-critic loss that A2C, A3C and IMPALA share
    pg_variance how noisy a policy gradient estimate is, with and without a baseline (notebook 02)
    throughput  env steps/s of one env, vector envs and independent actor processes
    exercises   checkers for the notebooks' exercises
    widgets     ipywidgets explorers used in the notebooks
"""

__version__ = "0.1.0"
