"""How noisy is a policy gradient estimate? The teaching tools of notebook 02's variance experiment.

The experiment: hold one policy fixed, play many batches of episodes with it, and compute one REINFORCE
estimate of its gradient per batch (``gradient_samples``), three ways from the same episodes:

    "none"      G_t * grad log pi(a_t|s_t)                  no baseline: plain REINFORCE
    "constant"  (G_t - b) * grad log pi(a_t|s_t)            b = mean return of held-out episodes
    "critic"    (G_t - V(s_t)) * grad log pi(a_t|s_t)       V of a critic, fitted on other episodes by ``fit_critic``

Every baseline leaves the mean of the estimates where it is (they are unbiased) and changes their spread:
``rlteach.plotting.plot_gradient_variance`` draws both. The loss itself is ``rlteach.losses.reinforce_loss``;
the A2C that learns with it is ``rlteach.policy_gradient``.
"""

from __future__ import annotations

import copy
from collections import namedtuple

import gymnasium as gym
import numpy as np
import torch

from rlteach.advantage import discounted_returns
from rlteach.checks import check_env, check_number
from rlteach.losses import reinforce_loss

BASELINES = ("none", "constant", "critic")
GradientSamples = namedtuple("GradientSamples", ["grads", "episode_lengths", "constant"])


def _tensor(x, model) -> torch.Tensor:
    """x as a float32 tensor on the device of ``model``."""
    return torch.as_tensor(x, dtype=torch.float32, device=next(model.parameters()).device)


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
