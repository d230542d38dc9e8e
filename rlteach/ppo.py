"""PPO: several epochs of minibatch updates on each rollout, the policy kept near the one that collected it.

Proximal Policy Optimization (Schulman et al. 2017, "Proximal Policy Optimization Algorithms", arXiv 1707.06347)
---------------------------------------------------------------------------------------------------------------
A2C (``rlteach.policy_gradient``) takes ONE gradient step per rollout: the data were sampled by pi_theta, and
after one step they no longer are. PPO reuses each rollout for ``update_epochs`` passes of ``num_minibatches``
minibatches. Every step after the first is off-policy, so the gradient is weighted by the probability ratio

    r_t(theta) = pi_theta(a_t|s_t) / pi_theta_old(a_t|s_t)                              (ratio, in ppo_loss)

where pi_theta_old is the network that collected the rollout (its log-probabilities ``old_log_probs`` are
computed once, before the first update, in ``train``). The clipped surrogate objective stops the ratio from
paying off once it leaves [1 - eps, 1 + eps]:

    L^CLIP(theta) = E_t[ min(r_t A_t, clip(r_t, 1 - eps, 1 + eps) A_t) ]                (clipped_surrogate)

With A_t > 0 the objective grows with r_t only up to 1 + eps; with A_t < 0 it grows as r_t shrinks only down to
1 - eps. Outside that range (on the side the advantage pushes towards) the min picks the clipped, constant term
and its gradient is 0: that step cannot move pi further. ``clip_eps`` is the paper's epsilon (CleanRL calls it
``clip_coef``, SB3 ``clip_range``). The loss minimised is minus the paper's eq. 9, L^CLIP+VF+S, with
c1 = ``value_coef`` and c2 = ``entropy_coef``:

    L = -L^CLIP + value_coef * E_t[(R_t - V(s_t))^2] - entropy_coef * E_t[H(pi(.|s_t))]  (ppo_loss)

A_t is GAE(gamma, lam) from ``rlteach.advantage.gae`` and R_t = A_t + V_old(s_t) the critic's target, both
computed once per rollout with pi_theta_old's critic (``rollout_targets``, shared with A2C). With
``normalize_advantages`` each minibatch's A_t become (A - mean) / std over that minibatch, as CleanRL does.

What is A2C's, imported: the vector envs and their ``vectorization`` modes (``make_envs``), the network
(``build_model``), the actor (``collect_rollout``: autoreset steps are marked invalid, and PPO leaves them out
of every minibatch) and the advantages (``rollout_targets``). What is PPO's is below: the objective, the epochs
of minibatches, and the loop that ties them together. Diagnostics per rollout in ``TrainResult.records``:
``clip_fraction`` (share of steps whose ratio left the clip range), ``approx_kl`` (mean of (r - 1) - log r, an
estimate of KL(pi_old || pi_theta)) and ``first_ratio_max_dev`` (max |r - 1| on the rollout's first minibatch:
0 up to rounding, since no update has happened yet; a larger value means pi_theta_old is not what acted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rlteach import checks
from rlteach import policy_gradient as a2c
from rlteach.envs import close_vector_env, env_spec
from rlteach.losses import LossTerms
from rlteach.monitor import Run, TrainResult
from rlteach.nets import torch_threads
from rlteach.workers import stream_seed

__all__ = ["Config", "VECTORIZATIONS", "build_model", "clipped_surrogate", "ppo_loss", "ppo_update", "rollout_batch",
           "train"]

VECTORIZATIONS = a2c.VECTORIZATIONS     # "sync", "async", "vector_entry_point": how the envs step (A2C's docstring)
build_model = a2c.build_model           # A2C's ActorCritic, from a Config's hidden and shared_torso


@dataclass
class Config:
    """PPO hyperparameters. Every default here is the one place that default lives.

    The defaults solve CartPole-v1 on a 2-core laptop in a few seconds. They start from CleanRL's ppo.py
    (Adam eps 1e-5, clip 0.2, 4 minibatches, lam 0.95, grad norm 0.5, advantages normalised per minibatch)
    and change what made it slow to reach the solved criterion here (greedy mean >= 475 over 10 episodes):
    see the comments on lr and anneal_lr.
    """

    env_id: str = "CartPole-v1"     # a Gymnasium id: flat Box observations, Discrete actions
    env_kwargs: dict | None = None  # passed to gym.make, e.g. {"delay_ms": 1.0} for rlteach/SlowCartPole-v1
    seed: int = 0                   # the run's one SeedSequence: every random stream (workers.stream_seed)
    total_steps: int = 500_000      # env steps at most (a run usually stops earlier, when solved)
    eval_every: int | None = 2000   # env steps between greedy evaluations (the solved check); None: none
    eval_episodes: int = 10         # greedy episodes per evaluation (their mean decides "solved")
    stop_when_solved: bool = True   # end the run at the first evaluation that reaches the threshold
    device: str = "cpu"             # where the network learns: "cpu" or "cuda"
    num_envs: int = 4               # environments stepped together (CleanRL's 4)
    n_steps: int = 128              # steps per env per rollout: a batch of num_envs * n_steps (CleanRL's 128)
    update_epochs: int = 4          # passes over each rollout (CleanRL's 4)
    num_minibatches: int = 4        # minibatches per pass: 512 / 4 = 128 steps each (CleanRL's 4)
    clip_eps: float | None = 0.2    # the paper's epsilon: the ratio pays off only inside [1 - eps, 1 + eps];
                                    # None: no clip, the paper's "no clipping or penalty" baseline
    gamma: float = 0.99             # discount
    lam: float = 0.95               # GAE lambda (the paper's and CleanRL's 0.95)
    lr: float = 1e-3                # Adam learning rate. CleanRL's 2.5e-4 (tuned for Atari) solved seeds 0-3 here
                                    # at 14k-28k env steps; 1e-3 solves seeds 0-9 at 4k-18k (tests/test_ppo.py)
    anneal_lr: bool = False         # True: lr falls linearly to 0 at total_steps (CleanRL's default). Off here,
                                    # so a run does not depend on its step budget (a learning test's budget)
    adam_eps: float = 1e-5          # Adam eps (CleanRL's; torch's default 1e-8)
    value_coef: float = 0.5         # weight of the critic's squared error (the paper's c1; CleanRL's 0.5 weighs
                                    # 0.5 (R - V)^2, half this). With separate torsos it only meets the policy
                                    # in the shared gradient-norm clip
    entropy_coef: float = 0.0       # weight of the entropy bonus (the paper's c2). CleanRL's 0.01 solved seeds
                                    # 0-5 here at 4k-16k env steps, 0 at 4k-18k: no gain, so the simpler 0
    max_grad_norm: float = 0.5      # gradients are clipped to this global norm (CleanRL's 0.5)
    normalize_advantages: bool = True   # A <- (A - mean) / std over each minibatch (CleanRL's norm_adv)
    vectorization: str = "sync"     # "sync", "async" or "vector_entry_point": as in rlteach.policy_gradient
    hidden: tuple = (64, 64)        # hidden layer sizes of the MLP(s); () = linear (not with shared_torso)
    shared_torso: bool = False      # one torso for policy and value (see rlteach.nets)

    def __post_init__(self):
        checks.check_common(self)
        checks.check_number("num_envs", self.num_envs, 1, checks.MAX_PARALLEL, integer=True)
        checks.check_number("n_steps", self.n_steps, 1, checks.MAX_ROLLOUT, integer=True)
        checks.check_number("update_epochs", self.update_epochs, 1, integer=True)
        checks.check_number("num_minibatches", self.num_minibatches, 1, checks.MAX_BATCH, integer=True)
        if self.num_minibatches > self.num_envs * self.n_steps:
            raise ValueError(f"num_minibatches={self.num_minibatches!r} is not allowed with num_envs={self.num_envs} "
                             f"and n_steps={self.n_steps}: a rollout of {self.num_envs * self.n_steps} steps splits "
                             f"into at most that many minibatches")
        if self.clip_eps is not None:
            checks.check_number("clip_eps", self.clip_eps, 0, 1, low_open=True)
        checks.check_number("gamma", self.gamma, 0, 1)
        checks.check_number("lam", self.lam, 0, 1)
        checks.check_number("lr", self.lr, 0, low_open=True)
        checks.check_bool("anneal_lr", self.anneal_lr)
        checks.check_number("adam_eps", self.adam_eps, 0, low_open=True)
        checks.check_number("value_coef", self.value_coef, 0)
        checks.check_number("entropy_coef", self.entropy_coef, 0)
        checks.check_number("max_grad_norm", self.max_grad_norm, 0, low_open=True)
        checks.check_bool("normalize_advantages", self.normalize_advantages)
        checks.check_choice("vectorization", self.vectorization, VECTORIZATIONS)
        if self.vectorization == "vector_entry_point" and env_spec(self.env_id).vector_entry_point is None:
            raise ValueError(f"vectorization='vector_entry_point' is not allowed for env_id={self.env_id!r}: it has "
                             "no NumPy-vectorized version (its spec's vector_entry_point is None); use 'sync' or "
                             "'async'")
        checks.check_bool("shared_torso", self.shared_torso)
        self.hidden = checks.check_hidden(self.hidden, allow_empty=not self.shared_torso)


# ---------------------------------------------------------------------------------------------------------
# The math: the clipped surrogate objective and the loss
# ---------------------------------------------------------------------------------------------------------


def clipped_surrogate(ratio: torch.Tensor, advantages: torch.Tensor, clip_eps: float | None) -> torch.Tensor:
    """L^CLIP = mean_t min(r_t A_t, clip(r_t, 1 - eps, 1 + eps) A_t), the objective to MAXIMISE.

    ``ratio`` r_t = pi_theta(a_t|s_t) / pi_theta_old(a_t|s_t), with gradient; ``advantages`` A_t are constants.
    ``clip_eps=None``: no clip, mean_t r_t A_t (the paper's baseline "no clipping or penalty")."""
    advantages = advantages.detach()
    unclipped = ratio * advantages
    if clip_eps is None:
        return unclipped.mean()
    clip_eps = checks.check_real("clip_eps", clip_eps, 0, 1, low_open=True)
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages
    return torch.min(unclipped, clipped).mean()


def ppo_loss(log_probs, old_log_probs, entropy, values, advantages, returns, clip_eps, value_coef,
             entropy_coef) -> tuple[LossTerms, torch.Tensor]:
    """L = -L^CLIP + value_coef * mean (R - V)^2 - entropy_coef * mean H (module docstring).

    log_probs, entropy, values: from the network being updated, with gradient. old_log_probs (pi_theta_old),
    advantages, returns: constants of the rollout. Returns (LossTerms(total, policy = -L^CLIP, value, entropy),
    the ratio r_t, detached, for the diagnostics)."""
    ratio = torch.exp(log_probs - old_log_probs.detach())        # r_t = pi_theta / pi_theta_old, via logs
    policy = -clipped_surrogate(ratio, advantages, clip_eps)
    value = ((returns.detach() - values) ** 2).mean()
    ent = entropy.mean()
    return LossTerms(policy + value_coef * value - entropy_coef * ent, policy, value, ent), ratio.detach()


# ---------------------------------------------------------------------------------------------------------
# The learner: update_epochs passes of num_minibatches shuffled minibatches over one rollout
# ---------------------------------------------------------------------------------------------------------


def rollout_batch(model, rollout: dict, config: Config, device) -> dict:
    """What the learner trains on: pi_theta_old's log-probabilities and values, computed once, then GAE and
    the critic's targets (A2C's ``rollout_targets``); flat [B] tensors of the rollout's real steps only (an
    autoreset step is not a transition): obs [B, obs_dim], actions, old_log_probs, advantages, returns."""
    obs_t = torch.as_tensor(rollout["obs"], dtype=torch.float32, device=device)
    actions = torch.as_tensor(rollout["actions"], device=device)
    with torch.no_grad():
        logits, values = model(obs_t)                                               # [T, N, A], [T, N]
        old_log_probs = torch.distributions.Categorical(logits=logits).log_prob(actions)
        last_value = model(torch.as_tensor(rollout["last_obs"], dtype=torch.float32, device=device))[1]
    advantages, returns = a2c.rollout_targets(values, last_value, rollout, config.gamma, config.lam)
    real = torch.as_tensor(rollout["valid"], device=device).flatten()
    return {k: v.flatten(0, 1)[real] for k, v in (("obs", obs_t), ("actions", actions),
            ("old_log_probs", old_log_probs), ("advantages", advantages), ("returns", returns))}


def ppo_update(model, optimizer, batch: dict, config: Config, reduce_gradients=None) -> dict:
    """Train on one rollout's real steps: ``batch`` holds flat [B] tensors obs [B, obs_dim], actions,
    old_log_probs, advantages and returns (``rollout_batch``). Each epoch shuffles the B steps (torch's global
    generator) and splits them into ``num_minibatches`` minibatches, one gradient step each. Returns the
    rollout's diagnostics: the loss terms and clip fraction averaged over its minibatches, approx_kl of the
    last epoch, and first_ratio_max_dev, max |r - 1| on the first minibatch (before any update: 0 up to
    rounding).

    ``reduce_gradients(model)``, when given, is called between each backward pass and the clip: DD-PPO
    (rlteach/ddppo.py) averages the gradients of all its workers there. Every worker must then take the same
    number of steps, so a minibatch with no real step still takes one, with a zero gradient of its own."""
    terms, clip_fractions, kls, first_ratio_max_dev = [], [], [], None
    for _ in range(config.update_epochs):
        kls = []
        for idx in torch.randperm(len(batch["actions"])).tensor_split(config.num_minibatches):
            if len(idx) == 0:                      # fewer real steps than minibatches (autoreset steps left out)
                if reduce_gradients is not None:   # the others' all-reduce waits for this worker's part: zeros
                    for p in model.parameters():
                        p.grad = torch.zeros_like(p)
                    reduce_gradients(model)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                    optimizer.step()
                continue
            logits, values = model(batch["obs"][idx])
            dist = torch.distributions.Categorical(logits=logits)
            advantages = batch["advantages"][idx]
            if config.normalize_advantages:        # every step of a minibatch is real: the whole mask is True
                advantages = a2c.normalized_advantages(advantages, torch.ones_like(advantages, dtype=torch.bool))
            loss, ratio = ppo_loss(dist.log_prob(batch["actions"][idx]), batch["old_log_probs"][idx], dist.entropy(),
                                   values, advantages, batch["returns"][idx], config.clip_eps, config.value_coef,
                                   config.entropy_coef)
            optimizer.zero_grad()
            loss.total.backward()
            if reduce_gradients is not None:
                reduce_gradients(model)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            if first_ratio_max_dev is None:
                first_ratio_max_dev = (ratio - 1).abs().max().item()
            terms.append([x.item() for x in loss])
            if config.clip_eps is not None:        # no clip range, no clip fraction (nan)
                clip_fractions.append(((ratio - 1).abs() > config.clip_eps).float().mean().item())
            kls.append(((ratio - 1) - ratio.log()).mean().item())
    return {"losses": np.mean(terms, axis=0).tolist() if terms else [float("nan")] * 4,
            "clip_fraction": float(np.mean(clip_fractions)) if clip_fractions else float("nan"),
            "approx_kl": float(np.mean(kls)) if kls else float("nan"),
            "first_ratio_max_dev": float("nan") if first_ratio_max_dev is None else first_ratio_max_dev}


# ---------------------------------------------------------------------------------------------------------
# The training loop: env -> actor -> rollout -> advantages -> epochs of minibatches -> the same network acts
# ---------------------------------------------------------------------------------------------------------


def train(config: Config, *, progress=True, callback=None) -> TrainResult:
    """PPO. Returns a TrainResult; its records, one entry per rollout: ``losses`` = [env_steps, total, policy,
    value, entropy] (means over the rollout's minibatches), ``clip_fraction``, ``approx_kl`` and
    ``first_ratio_max_dev`` (module docstring). Ctrl-C (KeyboardInterrupt) returns the result so far with
    interrupted=True."""
    with torch_threads(1):  # tiny networks run fastest on one thread (nets.torch_threads)
        run = Run(config, progress, callback)
        torch.manual_seed(stream_seed(config.seed, "weights"))   # initial weights, then actions and minibatches
        device = torch.device(config.device)
        model = build_model(config)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, eps=config.adam_eps)
        envs = a2c.make_envs(config)
        records = run.result.records
        for key in ("losses", "clip_fraction", "approx_kl", "first_ratio_max_dev"):
            records.setdefault(key, [])

        def act_greedy(obs):
            return model.greedy(obs).cpu().numpy()

        interrupted = False
        try:
            state = a2c.reset_state(envs, config)
            while not run.done:
                if config.anneal_lr:                   # linearly to 0 at total_steps
                    for group in optimizer.param_groups:
                        group["lr"] = config.lr * max(0.0, 1 - run.result.env_steps / config.total_steps)
                # actor: a [n_steps, num_envs] rollout with the current network, pi_theta_old
                rollout = a2c.collect_rollout(envs, model, state, config.n_steps, device, run)
                # learner: pi_theta_old's log-probabilities, GAE and targets, once; then the epochs
                stats = ppo_update(model, optimizer, rollout_batch(model, rollout, config, device), config)
                records["losses"].append([run.result.env_steps] + [round(x, 5) for x in stats["losses"]])
                for key in ("clip_fraction", "approx_kl", "first_ratio_max_dev"):
                    records[key].append(stats[key])
                # the updated network acts from the next step on; evaluate it when due
                run.maybe_evaluate(act_greedy)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            close_vector_env(envs)
        return run.finish(model, interrupted)
