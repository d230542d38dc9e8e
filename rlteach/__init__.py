"""rlteach: a workbook for distributed reinforcement learning.

One algorithm per module, each readable top to bottom; the notebooks in ``notebooks/`` import them. Data flows
env -> actor -> rollout or transitions -> queue or replay -> learner -> optimizer -> new weights -> actors.

The math
    advantage       returns, TD errors, n-step returns, GAE (pure math, numpy and torch)
    mdp             a small chain MDP: V, Q, A exactly and by the Bellman backup, Q* and tabular Q-learning
    losses          REINFORCE and the actor-critic loss that A2C, A3C and IMPALA share
    replay          the sum-tree, proportional prioritized replay and n-step transitions (Ape-X)
The algorithms (each: Config, math, network, actor, learner, train)
    policy_gradient synchronous A2C on a vector env
    ppo             PPO: A2C's rollouts reused for epochs of minibatches under the clipped surrogate objective
    a3c             A3C: Hogwild workers on one shared model, or a parameter server on Ray
    apex            Ape-X DQN: an epsilon ladder of actors feeding one prioritized replay
    impala          IMPALA: actors with a stale policy, a learner that corrects with V-trace
    off_policy      IMPALA's other off-policy data: actors that explore, a replay of past unrolls
    ddppo           DD-PPO: PPO workers, each with its own replica, that average gradients by all-reduce
    seed_rl         SEED RL: actors only step envs; one server batches their inference; IMPALA's learner
The rooms they share
    checks          every input check (Configs, math, pools) and the size limits
    envs            env ids: spec, observation and action sizes, reward threshold; SlowCartPole and
                    OneHotCliffWalking (registered here)
    nets            the MLP actor-critic and Q-network; torch_threads
    shared_optim    RMSProp and Adam with statistics in shared memory (A3C)
    workers         the actor pool's front door: make_pool(work, n, backend), InProcessContext; stream_seed
    local_pool      the "thread" and "process" backends of the pool
    ray_backend     the "ray" backend: workers as Ray actors, on one machine or a cluster
    timeline        the named rows of who worked when, steady throughput, overlap
    monitor         the run record (Run, TrainResult, save/load), evaluation and rendering
    progress        tqdm.auto's bar, except that in a notebook a finished bar leaves a line of text
The lessons
    blind_cliffwalk the Blind Cliffwalk: updates to learn by replay order, uniform to oracle (notebook 04)
    pg_variance     how noisy a policy gradient estimate is, with and without a baseline (notebook 02)
    throughput      env steps/s of one env, vector envs and independent actor processes (notebook 00)
    side_by_side    every design on three workloads, timed the same way, and where the time went (notebook 07)
    lab             the communication lab: transports, Ape-X's knobs, a parameter server (notebook 06)
    faults          the fault matrix: a worker raises, Ctrl-C, a worker killed; what is left and lost (notebook 06)
    paper_claims    the words of `make claims`: each experiment's verdict from its numbers in claims.json, and the
                    papers' results, in the reader's language (notebooks 03, 04, 05)
    messages        every sentence a reader sees, in English or Chinese: tr("..."), set_language("zh"),
                    RLTEACH_LANG; gettext catalogs in rlteach/locale/
    verdict         words from numbers: A ahead of B, behind it, or within the noise (every notebook)
    plotting        the figures (every function returns the figure)
    widgets         the ipywidgets explorers and the live training view
    widget_controls the controls TrainExplorer shows for each algorithm's Config, from its defaults
    widget_parts    what the explorers are built from: sliders on a grid, the figure as a PNG, the CSS hooks,
                    the output that shows the live widget with a kernel and the PNG without one
    exercises       checkers for the notebooks' exercises, each module with its own solutions
"""

__version__ = "0.1.0"

from rlteach import envs as _envs  # noqa: E402, F401  (registers rlteach's envs with gymnasium)
from rlteach.messages import set_language  # noqa: E402, F401  (rlteach.set_language("zh"): the Chinese edition)
