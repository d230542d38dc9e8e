"""Policy gradient: REINFORCE, the actor-critic loss, and synchronous A2C on a vector environment.

The policy gradient theorem (Williams 1992; Sutton et al. 2000)
--------------------------------------------------------------
    grad J(theta) = E_pi[ A(s_t, a_t) * grad log pi_theta(a_t | s_t) ]

Push up the log-probability of actions in proportion to how much better than average they were. Any
function of the state alone can be subtracted from the return without changing the expectation (a
*baseline*), because E_a[grad log pi(a|s)] = 0; subtracting V(s) turns the return into an advantage and
cuts the variance of the estimate.

    REINFORCE        L = -mean_t G_t * log pi(a_t|s_t)                                   (reinforce_loss)
    actor-critic     L = -mean_t A_t * log pi(a_t|s_t)                      policy term
                         + value_coef * mean_t (R_t - V(s_t))^2             value (critic) term
                         - entropy_coef * mean_t H(pi(.|s_t))               exploration bonus
                                                                             (actor_critic_loss)
                     (A3C sums over t instead of averaging: ``reduction="sum"``, see rlteach.a3c)
with A_t from ``rlteach.advantage.gae`` and R_t = A_t + V(s_t) (the lambda-return) as the critic's target.

Synchronous A2C (the synchronous variant of Mnih et al. 2016, "Asynchronous Methods for Deep RL")
-----------------------------------------------------------------------------------------------------
One learner, one network, ``num_envs`` environments stepped together (environment-parallelism): every
step is ONE batched forward for all envs. After ``n_steps`` steps the rollout [n_steps, num_envs] gives
advantages and one gradient step. ``train`` reads top to bottom: env -> actor -> rollout -> advantages
-> loss -> optimizer -> the same network acts again.

Gymnasium >= 1.0 vector envs reset an env on the step AFTER its episode ended: that step ignores the
action, returns the first observation of the new episode and reward 0. It is not a transition of the
MDP, so it is masked out of the loss (``valid``). The observation the ending step returned is the real
final observation, so V of it bootstraps a truncated step correctly.

Defaults solve CartPole-v1 (rl-baselines3-zoo's A2C settings: 8 envs, 5 steps, RMSprop lr 7e-4).
The A3C paper's Atari settings are in ``rlteach.a3c``.

Teaching tools (after ``train``): ``gradient_samples`` draws many REINFORCE gradient estimates of one policy,
without a baseline, with a constant one and with a critic (``fit_critic``), so notebook 02 can plot their
variance.
"""

from __future__ import annotations

import copy
from collections import namedtuple
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from rlteach.advantage import discounted_returns, gae
from rlteach.checks import (
    MAX_PARALLEL,
    MAX_ROLLOUT,
    check_actor_critic,
    check_bool,
    check_common,
    check_env,
    check_number,
)
from rlteach.envs import env_dims
from rlteach.monitor import Run, TrainResult
from rlteach.nets import ActorCritic, torch_threads


@dataclass
class Config:
    """A2C hyperparameters. Every default here is the one place that default lives."""

    env_id: str = "CartPole-v1"
    seed: int = 0
    total_steps: int = 500_000      # env steps at most (a run usually stops earlier, when solved)
    eval_every: int | None = 2000   # env steps between greedy evaluations (the solved check); None: none
    eval_episodes: int = 10
    stop_when_solved: bool = True
    device: str = "cpu"
    num_envs: int = 8               # environments stepped together (environment-parallelism)
    n_steps: int = 5                # steps per env per update: the rollout is [n_steps, num_envs]
    gamma: float = 0.99             # discount
    lam: float = 1.0                # GAE lambda: 1 = n-step returns to the rollout's end, 0 = TD error
    lr: float = 7e-4                # RMSprop learning rate
    rms_alpha: float = 0.99         # RMSprop decay of the squared-gradient average
    rms_eps: float = 1e-5
    value_coef: float = 0.5         # weight of the critic's squared error in the loss
    entropy_coef: float = 0.0       # weight of the entropy bonus
    max_grad_norm: float = 0.5      # gradients are clipped to this global norm
    normalize_advantages: bool = False  # True: A <- (A - mean) / std over the rollout's real steps
    hidden: tuple = (64, 64)        # hidden layer sizes of the MLP(s); () = linear (not with shared_torso)
    shared_torso: bool = False      # one torso for policy and value (see rlteach.nets)

    def __post_init__(self):
        check_common(self)
        check_number("num_envs", self.num_envs, 1, MAX_PARALLEL, integer=True)
        check_number("n_steps", self.n_steps, 1, MAX_ROLLOUT, integer=True)
        check_number("lam", self.lam, 0, 1)
        check_bool("normalize_advantages", self.normalize_advantages)
        check_bool("shared_torso", self.shared_torso)
        check_actor_critic(self, allow_empty_hidden=not self.shared_torso)


# ---------------------------------------------------------------------------------------------------------
# The losses
# ---------------------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------------------
# The network and the training loop
# ---------------------------------------------------------------------------------------------------------


def build_model(config: Config) -> ActorCritic:
    return ActorCritic(*env_dims(config.env_id), config.hidden, config.shared_torso).to(config.device)


def collect_rollout(envs, model, state, n_steps, device, run=None) -> dict:
    """The actor: ``n_steps`` steps of every env, one batched forward per step.

    ``state`` carries across calls: ``obs`` (the current observations), ``after_end`` (True where the
    next step is an autoreset step) and ``episode_return``. Returns [n_steps, num_envs] arrays obs,
    actions, rewards, terminated, truncated and valid (False on autoreset steps), plus ``last_obs``.
    Finished episodes and real env steps are reported to ``run``.
    """
    rollout = {k: [] for k in ("obs", "actions", "rewards", "terminated", "truncated", "valid")}
    for _ in range(n_steps):
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
    out = {k: np.stack(v) for k, v in rollout.items()}
    out["last_obs"] = state["obs"]
    return out


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
        torch.manual_seed(config.seed)
        device = torch.device(config.device)
        model = build_model(config)
        optimizer = torch.optim.RMSprop(model.parameters(), lr=config.lr, alpha=config.rms_alpha, eps=config.rms_eps)
        envs = gym.make_vec(config.env_id, num_envs=config.num_envs, vectorization_mode="sync")
        losses = run.result.records.setdefault("losses", [])

        def act_greedy(obs):
            return model.greedy(obs).cpu().numpy()

        interrupted = False
        try:
            obs, _ = envs.reset(seed=config.seed)           # env i gets seed + i
            state = {"obs": obs, "after_end": np.zeros(config.num_envs, dtype=bool),
                     "episode_return": np.zeros(config.num_envs)}
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
            envs.close()
        return run.finish(model, interrupted)


# ---------------------------------------------------------------------------------------------------------
# Teaching tools: how noisy is a policy gradient estimate, with and without a baseline?
# ---------------------------------------------------------------------------------------------------------

BASELINES = ("none", "constant", "critic")
GradientSamples = namedtuple("GradientSamples", ["grads", "episode_lengths", "constant"])


def play_episodes(model, env_id, num_episodes, seed=0) -> list:
    """``num_episodes`` whole episodes of the stochastic policy pi(a|s), side by side (one batched forward
    per step), on envs seeded ``seed + i``; actions come from a generator seeded ``seed`` (the global torch
    RNG is untouched). Each episode is a dict: obs [T, obs_dim], actions [T], rewards [T], terminated,
    truncated (of the last step) and final_obs (the observation the last step returned)."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    envs = [gym.make(env_id) for _ in range(num_episodes)]
    obs = [env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]
    episodes = [{"obs": [], "actions": [], "rewards": []} for _ in range(num_episodes)]
    running = list(range(num_episodes))
    try:
        while running:
            with torch.no_grad():
                probs = model.dist(torch.as_tensor(np.stack([obs[i] for i in running]), dtype=torch.float32,
                                                   device=device)).probs
            actions = torch.multinomial(probs, 1, generator=generator).squeeze(-1).cpu().numpy()
            still = []
            for i, a in zip(running, actions, strict=True):
                ep = episodes[i]
                ep["obs"].append(obs[i])
                ep["actions"].append(int(a))
                obs[i], r, term, trunc, _ = envs[i].step(int(a))
                ep["rewards"].append(float(r))
                if term or trunc:
                    ep.update(terminated=bool(term), truncated=bool(trunc) and not term, final_obs=obs[i])
                else:
                    still.append(i)
            running = still
    finally:
        for env in envs:
            env.close()
    return [{k: np.array(v) if isinstance(v, list) else v for k, v in ep.items()} for ep in episodes]


def episode_returns(episode, critic, gamma) -> torch.Tensor:
    """G_t of one played episode (``advantage.discounted_returns``); a truncated episode bootstraps from
    the critic's V(final obs)."""
    T = len(episode["rewards"])
    next_values, term, trunc = np.zeros(T), np.zeros(T, dtype=bool), np.zeros(T, dtype=bool)
    term[-1], trunc[-1] = episode["terminated"], episode["truncated"]
    if trunc[-1]:
        with torch.no_grad():
            next_values[-1] = critic(_tensor(episode["final_obs"], critic))[1].item()
    return torch.as_tensor(discounted_returns(episode["rewards"], next_values, term, trunc, gamma),
                           dtype=torch.float32)


def _tensor(x, model) -> torch.Tensor:
    """x as a float32 tensor on the device of ``model``."""
    return torch.as_tensor(x, dtype=torch.float32, device=next(model.parameters()).device)


def _check_model(model, name, env_id):
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "dist"):
        raise TypeError(f"{name} must be an rlteach.nets.ActorCritic (logits and V(s)), got {type(model).__name__}")
    env = gym.make(env_id)
    obs_dim = env.observation_space.shape[0]
    env.close()
    try:
        with torch.no_grad():
            model(_tensor(np.zeros((1, obs_dim)), model))
    except RuntimeError as exc:
        raise ValueError(f"{name} does not take env_id={env_id!r}'s observations ({obs_dim} numbers): {exc}") from None


def fit_critic(model, env_id="CartPole-v1", num_episodes=200, gamma=0.99, steps=200, lr=1e-2, seed=1_000_000):
    """A copy of ``model`` whose value head is regressed onto the returns G_t of ``num_episodes`` fresh
    episodes of its policy: ``min mean_t (V(s_t) - G_t)^2``, full batch, ``steps`` Adam steps. The policy
    is unchanged. Its own episodes (seeded far from ``gradient_samples``'s) make V a fixed function of the
    state, independent of the episodes it will be a baseline for."""
    _check_model(model, "model", env_id)
    check_number("num_episodes", num_episodes, 1, integer=True)
    check_number("steps", steps, 1, integer=True)
    check_number("gamma", gamma, 0, 1)
    critic = copy.deepcopy(model)
    episodes = play_episodes(critic, env_id, num_episodes, seed)
    obs = _tensor(np.concatenate([ep["obs"] for ep in episodes]), critic)
    G = torch.cat([episode_returns(ep, critic, gamma) for ep in episodes]).to(obs.device)
    optimizer = torch.optim.Adam(critic.value_head.parameters(), lr=lr)
    for _ in range(steps):
        loss = ((critic(obs)[1] - G) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return critic


def gradient_samples(model, env_id="CartPole-v1", num_batches=100, episodes_per_batch=1,
                     baselines=BASELINES, gamma=0.99, seed=0, critic=None, constant_episodes=100) -> GradientSamples:
    """Many independent REINFORCE estimates of one policy's gradient, each from its own batch of episodes.

    Plays ``num_batches * episodes_per_batch`` episodes of ``model``'s stochastic policy (``play_episodes``)
    and, per batch and baseline b, computes the estimate of grad J over the policy's parameters

        g = (1 / episodes_per_batch) * sum over the batch's steps of (G_t - b_t) * grad log pi(a_t|s_t)

    as ``-grad reinforce_loss(log pi, G - b)`` times steps per episode (a sum over each episode's steps: a
    mean over a number of steps that the actions decide, how long the pole stayed up, would be biased).

        "none"      b_t = 0                       plain REINFORCE, G_t from ``episode_returns``
        "constant"  b_t = mean G_t of ``constant_episodes`` OTHER episodes of the policy (held out, played
                                                   after the batches' own): one number for every step
        "critic"    b_t = V(s_t)                   the value head of ``critic`` (default: ``model``; a fresh
                                                   value head is a random function: ``fit_critic`` fits one)

    A baseline must not depend on the episodes it is subtracted from, or it biases the estimate: a mean
    taken over the batches themselves would (by about 1/num_batches), hence the held-out episodes.
    Every baseline sees the same episodes, so differences between them are the baseline's alone.
    Returns GradientSamples(grads={baseline: [num_batches, num_params] array}, episode_lengths, constant).
    """
    if isinstance(baselines, str):
        baselines = (baselines,)
    for b in baselines:
        if b not in BASELINES:
            raise ValueError(f"baselines contains {b!r}; allowed: {', '.join(map(repr, BASELINES))}")
    check_env(env_id)
    _check_model(model, "model", env_id)
    critic = model if critic is None else critic
    _check_model(critic, "critic", env_id)
    check_number("num_batches", num_batches, 2, integer=True)
    check_number("episodes_per_batch", episodes_per_batch, 1, integer=True)
    check_number("gamma", gamma, 0, 1)
    check_number("seed", seed, 0, integer=True)
    check_number("constant_episodes", constant_episodes, 1, integer=True)
    num_episodes = num_batches * episodes_per_batch
    episodes = play_episodes(model, env_id, num_episodes, seed)
    returns = [episode_returns(ep, critic, gamma) for ep in episodes]
    held_out = play_episodes(model, env_id, constant_episodes, seed + num_episodes)    # envs seeded after them
    constant = float(torch.cat([episode_returns(ep, critic, gamma) for ep in held_out]).mean())
    params = [p for name, p in model.named_parameters() if not name.startswith("value_head")]
    grads = {b: [] for b in baselines}
    for k in range(num_batches):
        batch = range(k * episodes_per_batch, (k + 1) * episodes_per_batch)
        obs = _tensor(np.concatenate([episodes[i]["obs"] for i in batch]), model)
        actions = torch.as_tensor(np.concatenate([episodes[i]["actions"] for i in batch]), device=obs.device)
        G = torch.cat([returns[i] for i in batch]).to(obs.device)
        log_probs = model.dist(obs).log_prob(actions)
        with torch.no_grad():
            values = critic(obs.to(next(critic.parameters()).device))[1].to(obs.device)
        for b in baselines:
            baseline = {"none": 0.0, "constant": constant, "critic": values}[b]
            loss = reinforce_loss(log_probs, G - baseline) * len(G) / episodes_per_batch
            g = torch.autograd.grad(-loss, params, retain_graph=True)
            grads[b].append(torch.cat([x.flatten() for x in g]).cpu().numpy())
    lengths = np.array([len(ep["rewards"]) for ep in episodes])
    return GradientSamples({b: np.stack(v) for b, v in grads.items()}, lengths, constant)
