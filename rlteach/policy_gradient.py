"""Synchronous A2C on a vector environment: the actor-critic loss, one learner, ``num_envs`` envs stepped together.

The policy gradient (Williams 1992; Sutton et al. 2000) with a critic V(s) as baseline
-------------------------------------------------------------------------------------
    grad J(theta) = E_pi[ A(s_t, a_t) * grad log pi_theta(a_t | s_t) ]

    L = -mean_t A_t * log pi(a_t|s_t) + value_coef * mean_t (G_t - V(s_t))^2 - entropy_coef * mean_t H(pi(.|s_t))

with A_t from ``rlteach.advantage.gae`` and G_t = A_t + V(s_t) (the lambda-return) as the critic's target.
The losses: ``rlteach.losses`` (shared with A3C, IMPALA). Notebook 02's gradient-noise tools: ``rlteach.pg_variance``.

Synchronous A2C (the synchronous variant of Mnih et al. 2016, "Asynchronous Methods for Deep RL")
-----------------------------------------------------------------------------------------------------
One learner, one network, ``num_envs`` environments stepped together (environment-parallelism): every
step is ONE batched forward for all envs. After ``n_steps`` steps the rollout [n_steps, num_envs] gives
advantages and one gradient step. ``train`` reads top to bottom: env -> actor -> rollout -> advantages
-> loss -> optimizer -> the same network acts again.

How the envs step: ``vectorization`` (gymnasium's own ``vectorization_mode`` names)
-----------------------------------------------------------------------------------
    "sync"                one process steps the envs in turn (SyncVectorEnv). Best where a step is cheap.
    "async"               one subprocess per env (AsyncVectorEnv, started with "spawn"): the envs step at the
                          same time, and every step sends actions and observations through pipes. Pays where
                          a step costs more than that message (environment-parallelism, notebook 07).
    "vector_entry_point"  the env's own NumPy-vectorized version, where it has one (CartPole-v1 does): ALL
                          envs in one call of array code, no Python loop over envs. EnvPool, Isaac Gym and
                          Brax take this idea to thousands of envs, in C++ or on a GPU.
All three reset an env on the step after its episode ended (below), so the rollout is the same in each.

Gymnasium >= 1.0 vector envs reset an env on the step AFTER its episode ended: that step ignores the
action, returns the first observation of the new episode and reward 0. It is not a transition of the
MDP, so it is masked out of the loss (``valid``). The observation the ending step returned is the real
final observation, so V of it bootstraps a truncated step correctly.

Defaults solve CartPole-v1 (rl-baselines3-zoo's A2C settings: 8 envs, 5 steps, RMSprop lr 7e-4).
The A3C paper's Atari settings are in ``rlteach.a3c``.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from rlteach import checks
from rlteach.advantage import gae
from rlteach.envs import close_vector_env, env_dims, env_spec
from rlteach.losses import actor_critic_loss
from rlteach.monitor import Run, TrainResult
from rlteach.nets import ActorCritic, torch_threads
from rlteach.workers import stream_seed

VECTORIZATIONS = ("sync", "async", "vector_entry_point")


@dataclass
class Config:
    """A2C hyperparameters. Every default here is the one place that default lives."""

    env_id: str = "CartPole-v1"     # a Gymnasium id: flat Box observations, Discrete actions
    env_kwargs: dict | None = None  # passed to gym.make, e.g. {"delay_ms": 1.0} for rlteach/SlowCartPole-v1
    seed: int = 0                   # the run's one SeedSequence: every random stream (workers.stream_seed)
    total_steps: int = 500_000      # env steps at most (a run usually stops earlier, when solved)
    eval_every: int | None = 2000   # env steps between greedy evaluations (the solved check); None: none
    eval_episodes: int = 10         # greedy episodes per evaluation (their mean decides "solved")
    stop_when_solved: bool = True   # end the run at the first evaluation that reaches the threshold
    device: str = "cpu"             # where the network learns: "cpu" or "cuda"
    num_envs: int = 8               # environments stepped together (environment-parallelism)
    n_steps: int = 5                # steps per env per update: the rollout is [n_steps, num_envs]
    gamma: float = 0.99             # discount
    lam: float = 1.0                # GAE lambda: 1 = n-step returns to the rollout's end, 0 = TD error
    lr: float = 7e-4                # RMSprop learning rate
    rms_decay: float = 0.99         # RMSprop decay of the squared-gradient average
    rms_eps: float = 1e-5           # RMSprop eps (torch form: added to sqrt(g))
    value_coef: float = 0.5         # weight of the critic's squared error in the loss
    entropy_coef: float = 0.0       # weight of the entropy bonus
    max_grad_norm: float = 0.5      # gradients are clipped to this global norm
    normalize_advantages: bool = False  # True: A <- (A - mean) / std over the rollout's real steps
    vectorization: str = "sync"     # "sync", "async" or "vector_entry_point": how the envs step (above)
    hidden: tuple = (64, 64)        # hidden layer sizes of the MLP(s); () = linear (not with shared_torso)
    shared_torso: bool = False      # one torso for policy and value (see rlteach.nets)

    def __post_init__(self):
        checks.check_common(self)
        checks.check_number("num_envs", self.num_envs, 1, checks.MAX_PARALLEL, integer=True)
        checks.check_number("n_steps", self.n_steps, 1, checks.MAX_ROLLOUT, integer=True)
        checks.check_number("lam", self.lam, 0, 1)
        checks.check_bool("normalize_advantages", self.normalize_advantages)
        checks.check_choice("vectorization", self.vectorization, VECTORIZATIONS)
        if self.vectorization == "vector_entry_point" and env_spec(self.env_id).vector_entry_point is None:
            raise ValueError(f"vectorization='vector_entry_point' is not allowed for env_id={self.env_id!r}: it has "
                             "no NumPy-vectorized version (its spec's vector_entry_point is None); use 'sync' or "
                             "'async'")
        checks.check_bool("shared_torso", self.shared_torso)
        checks.check_actor_critic(self, allow_empty_hidden=not self.shared_torso)


# ---------------------------------------------------------------------------------------------------------
# The envs, the network and the training loop
# ---------------------------------------------------------------------------------------------------------


def make_envs(config: Config):
    """The ``num_envs`` envs as one vector env, stepped as ``config.vectorization`` says. Every mode resets an
    env on the step after its episode ended (gymnasium's NEXT_STEP autoreset), which ``collect_rollout`` masks."""
    vector_kwargs = {"context": "spawn"} if config.vectorization == "async" else None   # spawn: safe with torch
    envs = gym.make_vec(config.env_id, config.num_envs, config.vectorization, vector_kwargs,
                        **(config.env_kwargs or {}))
    if envs.metadata.get("autoreset_mode") != gym.vector.AutoresetMode.NEXT_STEP:
        close_vector_env(envs)
        raise ValueError(f"env_id={config.env_id!r} with vectorization={config.vectorization!r} resets its envs "
                         f"with {envs.metadata.get('autoreset_mode')}; A2C needs AutoresetMode.NEXT_STEP")
    return envs


def build_model(config: Config) -> ActorCritic:
    dims = env_dims(config.env_id, config.env_kwargs)
    return ActorCritic(*dims, config.hidden, config.shared_torso).to(config.device)


def collect_rollout(envs, model, state, n_steps, device, run=None, cut=None) -> dict:
    """The actor: ``n_steps`` steps of every env, one batched forward per step.

    ``state`` carries across calls: ``obs`` (the current observations), ``after_end`` (True where the
    next step is an autoreset step) and ``episode_return``. Returns [n_steps, num_envs] arrays obs,
    actions, rewards, terminated, truncated and valid (False on autoreset steps), plus ``last_obs``.
    Finished episodes and real env steps are reported to ``run``. ``cut(t)``, when given, is asked after
    step t (0, 1, ...): True ends the rollout there, shorter than n_steps (DD-PPO's preemption).
    """
    rollout = {k: [] for k in ("obs", "actions", "rewards", "terminated", "truncated", "valid")}
    for t in range(n_steps):
        obs = state["obs"]
        with torch.no_grad():
            actions = model.dist(torch.as_tensor(obs, dtype=torch.float32, device=device)).sample().cpu().numpy()
        next_obs, rewards, terminated, truncated, _ = envs.step(actions)
        valid = ~state["after_end"]                     # an autoreset step is not a transition
        for key, value in (("obs", obs), ("actions", actions), ("rewards", rewards), ("terminated", terminated),
                           ("truncated", truncated), ("valid", valid)):
            rollout[key].append(value)
        state["episode_return"] += rewards * valid
        ended = valid & (terminated | truncated)
        for i in np.flatnonzero(ended):
            if run is not None:
                run.add_episode(state["episode_return"][i])
            state["episode_return"][i] = 0.0
        if run is not None:
            run.add_steps(int(valid.sum()))
        state["after_end"], state["obs"] = ended, next_obs
        if cut is not None and cut(t):
            break
    out = {k: np.stack(v) for k, v in rollout.items()}
    out["last_obs"] = state["obs"]
    return out


def reset_state(envs, config, worker=0) -> dict:
    """The ``state`` that ``collect_rollout`` carries, at the start of a run: every env reset from the run's
    env stream of ``worker`` (env i gets that seed + i), no autoreset step pending, no return yet."""
    obs, _ = envs.reset(seed=stream_seed(config.seed, "env", worker))
    return {"obs": obs, "after_end": np.zeros(config.num_envs, dtype=bool), "episode_return": np.zeros(config.num_envs)}


def rollout_targets(values, last_value, rollout, gamma, lam):
    """Advantages (GAE) and critic targets R = A + V for a rollout, as constants.

    values [T, N] = V(obs_t); last_value [N] = V(obs after the rollout). The successor of step t is the
    observation step t returned, which is obs_{t+1} of the rollout: for an ending step, the real final
    observation (the reset comes one step later). So next_values = [values[1:], last_value].
    """
    with torch.no_grad():
        values, last_value = values.detach(), last_value.detach()
        next_values = torch.cat([values[1:], last_value[None]])
        f = {k: torch.as_tensor(rollout[k], dtype=values.dtype, device=values.device)
             for k in ("rewards", "terminated", "truncated")}
        advantages = gae(f["rewards"], values, next_values, f["terminated"], f["truncated"], gamma, lam)
    return advantages, advantages + values


def normalized_advantages(advantages, valid):
    """(A - mean A) / (std A + 1e-8), mean and std over the valid steps only. A rollout with fewer than two
    valid steps (``num_envs=1`` with ``n_steps`` 1 or 2, where an autoreset step takes one) has no spread
    to divide by: its advantages are returned unchanged, as SB3 does for a batch of one."""
    if int(valid.sum()) < 2:
        return advantages
    real = advantages[valid]
    return (advantages - real.mean()) / (real.std() + 1e-8)


def train(config: Config, *, progress=True, callback=None) -> TrainResult:
    """Synchronous A2C. Returns a TrainResult (records: ``losses`` = [env_steps, total, policy, value,
    entropy] per update). Ctrl-C (KeyboardInterrupt) returns the result so far with interrupted=True."""
    with torch_threads(1):  # tiny networks run fastest on one thread (nets.torch_threads)
        run = Run(config, progress, callback)
        torch.manual_seed(stream_seed(config.seed, "weights"))    # the initial weights, then the actions
        device = torch.device(config.device)
        model = build_model(config)
        optimizer = torch.optim.RMSprop(model.parameters(), lr=config.lr, alpha=config.rms_decay, eps=config.rms_eps)
        envs = make_envs(config)
        losses = run.result.records.setdefault("losses", [])

        def act_greedy(obs):
            return model.greedy(obs).cpu().numpy()

        interrupted = False
        try:
            state = reset_state(envs, config)
            while not run.done:
                # actor: a [n_steps, num_envs] rollout with the current network
                rollout = collect_rollout(envs, model, state, config.n_steps, device, run)
                # learner: advantages, the actor-critic loss, one gradient step
                obs_t = torch.as_tensor(rollout["obs"], dtype=torch.float32, device=device)
                logits, values = model(obs_t)                                   # [T, N, A], [T, N]
                with torch.no_grad():
                    last_value = model(torch.as_tensor(rollout["last_obs"], dtype=torch.float32, device=device))[1]
                advantages, returns = rollout_targets(values, last_value, rollout, config.gamma, config.lam)
                valid = torch.as_tensor(rollout["valid"], device=device)
                if config.normalize_advantages:
                    advantages = normalized_advantages(advantages, valid)
                dist = torch.distributions.Categorical(logits=logits)
                actions = torch.as_tensor(rollout["actions"], device=device)
                loss = actor_critic_loss(dist.log_prob(actions), dist.entropy(), values, advantages, returns,
                                         config.value_coef, config.entropy_coef, mask=valid)
                optimizer.zero_grad()
                loss.total.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                losses.append([run.result.env_steps] + [round(x.item(), 5) for x in loss])
                # the updated network acts from the next step on; evaluate it when due
                run.maybe_evaluate(act_greedy)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            close_vector_env(envs)
        return run.finish(model, interrupted)
