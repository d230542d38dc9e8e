"""IMPALA with V-trace (Espeholt et al. 2018, "IMPALA: Scalable Distributed Deep-RL with Importance
Weighted Actor-Learner Architectures").

Actors and one learner run at the same time and never wait for each other (except on a full queue):

    actor i:  copy of the policy mu (pulled every ``unrolls_per_weight_pull`` unrolls) -> ``envs_per_actor`` envs
              stepped together, one batched forward per step -> an unroll of ``unroll_length`` steps with
              the behaviour log-probs log mu(a_t|x_t) and the policy version -> the queue
    learner:  ``batch_size`` unrolls -> pi's log-probs and V now -> V-trace -> loss -> Adam step
              -> publish new weights (version + 1)

The optimizer departs from the paper, whose learner uses RMSprop (decay 0.99, no momentum): Config's ``lr``
says what is known of why.

By the time the learner uses an unroll, pi has moved on from the mu that produced it (the *policy lag*,
recorded per unroll as learner version - behaviour version). V-trace corrects for it with truncated
importance weights. For an unroll x_s .. x_{s+n}, with discounts gamma_t = gamma * (1 - terminated_t):

    rho_t     = min(rho_bar, pi(a_t|x_t) / mu(a_t|x_t))           clip_rho    = rho_bar (``vtrace``)
    c_t       = lam * min(c_bar, pi(a_t|x_t) / mu(a_t|x_t))       clip_c      = c_bar
    delta_t V = rho_t * (r_t + gamma_t V(x_{t+1}) - V(x_t))
    v_s       = V(x_s) + sum_{t=s}^{s+n-1} (prod_{i=s}^{t-1} gamma_i c_i) * delta_t V
              computed backwards: v_s - V(x_s) = delta_s V + gamma_s c_s (v_{s+1} - V(x_{s+1}))
    A_s       = min(rho_pg_bar, pi/mu) * (r_s + gamma_s v_{s+1} - V(x_s))      clip_pg_rho = rho_pg_bar

rho_bar decides WHICH value function v_s estimates (that of pi when infinite, something between mu's and
pi's when small); c_bar only decides how fast the correction contracts (variance). The paper assumes
rho_bar >= c_bar, and Config refuses clip_c > clip_rho (``vtrace`` itself computes any pair). On-policy
(pi = mu, clips >= 1, lam = 1) every ratio is 1 and v_s is the n-step bootstrapped return. The loss:

    L = -mean_t A_t log pi(a_t|x_t) + value_coef * mean_t (v_t - V(x_t))^2 - entropy_coef * mean_t H(pi)

Truncation (a time limit): an actor keeps the final observation of a truncated episode; the learner adds
gamma * V(final observation) under its current critic to that step's reward and sets that step's discount
to 0 before calling ``vtrace`` (``learner_inputs``).

Which correction (``off_policy_correction``, ``corrected_returns``), as the paper's Table 2 compares them:

    "vtrace"       the targets and advantages above
    "one_step_is"  v_s the n-step return (every ratio taken as 1: no correction of the critic), and
                   A_s = min(rho_pg_bar, pi/mu) * (r_s + gamma_s v_{s+1} - V(x_s)): V-trace without its traces
    "none"         every ratio taken as 1: the n-step return and its advantage, as if the data were on-policy

Two more sources of off-policy data besides the lag, both off by default (``rlteach.off_policy``): actors
that explore (``actor_epsilon``) and a replay of past unrolls (``replay_fraction``, ``replay_capacity_unrolls``).
"""

from __future__ import annotations

import time
from collections import namedtuple
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from rlteach import checks
from rlteach.envs import env_dims, make_env
from rlteach.losses import actor_critic_loss
from rlteach.monitor import Run, TrainResult
from rlteach.nets import ActorCritic, torch_threads
from rlteach.off_policy import Replay, behaviour_log_probs
from rlteach.timeline import LEARNER, Span, worker_rows
from rlteach.workers import WorkerError, make_pool, ray_options, stream_seed

CORRECTIONS = ("vtrace", "one_step_is", "none")


@dataclass
class Config:
    """IMPALA hyperparameters; every default lives here (CartPole-v1 on a 2-core laptop)."""

    env_id: str = "CartPole-v1"     # a Gymnasium id: flat Box observations, Discrete actions
    env_kwargs: dict | None = None  # passed to gym.make, e.g. {"delay_ms": 1.0} for rlteach/SlowCartPole-v1
    seed: int = 0                   # the run's one SeedSequence: every random stream (workers.stream_seed)
    total_steps: int = 500_000      # env steps at most (a run usually stops earlier, when solved)
    eval_every: int | None = 2000   # env steps between greedy evaluations (the solved check); None: none
    eval_episodes: int = 10         # greedy episodes per evaluation (their mean decides "solved")
    stop_when_solved: bool = True   # end the run at the first evaluation that reaches the threshold
    device: str = "cpu"             # the learner's device; actors always act on the CPU
    num_actors: int = 2             # actors, each with its own envs and copy of the policy
    backend: str = "thread"         # "thread", "process" or "ray" (rlteach.workers)
    ray_address: str | None = None  # backend "ray": None starts Ray here; "auto" or "ray://host:10001" joins a cluster
    envs_per_actor: int = 4         # envs each actor steps together (one batched forward per step)
    unroll_length: int = 20         # steps per unroll (n of the V-trace targets)
    batch_size: int = 2             # unrolls per learner update: [unroll_length, batch_size * envs_per_actor]
    unrolls_per_weight_pull: int = 1  # unrolls between an actor's weight pulls; raise it to study lag
    max_queue: int = 8              # unrolls waiting for the learner at most; a full queue makes actors wait
    gamma: float = 0.99             # discount
    # Adam, where the paper uses RMSprop: no reason is recorded (the first version chose Adam). How torch's
    # RMSprop did at this lr, measured: benchmarks/results/departures.md.
    lr: float = 1e-3                # Adam's learning rate
    value_coef: float = 0.5         # weight of the critic's squared error in the loss
    entropy_coef: float = 0.01      # weight of the entropy bonus
    max_grad_norm: float = 0.5      # gradients are clipped to this global norm
    clip_rho: float | None = 1.0    # rho-bar: which value function v_s estimates; None: no clip
    clip_c: float | None = 1.0      # c-bar: how fast the correction contracts; None: no clip; at most clip_rho
    clip_pg_rho: float | None = 1.0  # rho-bar of the policy-gradient advantages; None: no clip
    lam: float = 1.0                # lambda of V-trace's c_t = lam * min(c_bar, pi/mu)
    off_policy_correction: str = "vtrace"  # "vtrace", "one_step_is" or "none" (CORRECTIONS; module docstring)
    actor_epsilon: float = 0.0      # actors sample from (1 - eps) pi + eps uniform and record that as mu
    replay_fraction: float = 0.0    # share of each batch drawn from past unrolls; times batch_size: a whole number
    replay_capacity_unrolls: int = 500  # past unrolls the replay keeps (the newest; used only with replay_fraction)
    hidden: tuple = (64, 64)        # hidden layer sizes; () = a linear policy and value

    def __post_init__(self):
        checks.check_common(self)
        checks.check_number("num_actors", self.num_actors, 1, checks.MAX_PARALLEL, integer=True)
        checks.check_backend(self.backend, self.ray_address)
        for name in ("envs_per_actor", "batch_size"):
            checks.check_number(name, getattr(self, name), 1, checks.MAX_PARALLEL, integer=True)
        checks.check_number("unroll_length", self.unroll_length, 1, checks.MAX_ROLLOUT, integer=True)
        checks.check_number("unrolls_per_weight_pull", self.unrolls_per_weight_pull, 1, integer=True)
        checks.check_number("max_queue", self.max_queue, 1, checks.MAX_QUEUE, integer=True)
        checks.check_number("gamma", self.gamma, 0, 1)
        checks.check_number("lr", self.lr, 0, low_open=True)
        checks.check_number("value_coef", self.value_coef, 0)
        checks.check_number("entropy_coef", self.entropy_coef, 0)
        checks.check_number("max_grad_norm", self.max_grad_norm, 0, low_open=True)
        for name in ("clip_rho", "clip_c", "clip_pg_rho"):
            if getattr(self, name) is not None:
                checks.check_number(name, getattr(self, name), 0, low_open=True)
        if self.clip_rho is not None and (self.clip_c is None or self.clip_c > self.clip_rho):
            raise ValueError(f"clip_c={self.clip_c!r} with clip_rho={self.clip_rho!r} is not allowed: V-trace "
                             "assumes rho_bar >= c_bar, so clip_c must be at most clip_rho (None means no clip: "
                             "clip_c may be None only when clip_rho is None too)")
        checks.check_number("lam", self.lam, 0, 1)
        checks.check_choice("off_policy_correction", self.off_policy_correction, CORRECTIONS)
        checks.check_number("actor_epsilon", self.actor_epsilon, 0, 1)
        checks.check_replay_share(self.replay_fraction, self.batch_size)
        checks.check_number("replay_capacity_unrolls", self.replay_capacity_unrolls, 1, checks.MAX_BUFFER,
                            integer=True)
        self.hidden = checks.check_hidden(self.hidden)


# ---------------------------------------------------------------------------------------------------------
# V-trace (the module docstring gives the equations)
# ---------------------------------------------------------------------------------------------------------

VtraceReturns = namedtuple("VtraceReturns", ["vs", "pg_advantages"])


@torch.no_grad()
def vtrace(behaviour_log_probs, target_log_probs, rewards, discounts, values, bootstrap_value,
           clip_rho=1.0, clip_c=1.0, clip_pg_rho=1.0, lam=1.0) -> VtraceReturns:
    """V-trace targets ``vs`` and policy-gradient advantages for time-major [T] or [T, B] tensors.

    behaviour_log_probs  log mu(a_t|x_t), recorded by the actor     target_log_probs  log pi(a_t|x_t)
    rewards              r_t                                        discounts         gamma * (1 - terminated_t)
    values               V(x_t)                                     bootstrap_value   V(x_T): [B], or [] for [T]
    clip_rho = rho-bar, clip_c = c-bar, clip_pg_rho = rho-bar of the advantages; None means no clipping.
    """
    rhos = torch.exp(target_log_probs - behaviour_log_probs)                    # pi / mu
    rho = rhos if clip_rho is None else torch.clamp(rhos, max=clip_rho)         # rho_t
    c = lam * (rhos if clip_c is None else torch.clamp(rhos, max=clip_c))       # c_t
    values_next = torch.cat([values[1:], bootstrap_value.unsqueeze(0)])         # V(x_{t+1})
    delta = rho * (rewards + discounts * values_next - values)                  # delta_t V
    vs_minus_v = torch.zeros_like(values)
    acc = torch.zeros_like(bootstrap_value)
    for t in reversed(range(len(values))):                                      # backwards in time
        acc = delta[t] + discounts[t] * c[t] * acc                              # v_t - V(x_t)
        vs_minus_v[t] = acc
    vs = values + vs_minus_v
    vs_next = torch.cat([vs[1:], bootstrap_value.unsqueeze(0)])                 # v_{t+1}
    rho_pg = rhos if clip_pg_rho is None else torch.clamp(rhos, max=clip_pg_rho)
    return VtraceReturns(vs, rho_pg * (rewards + discounts * vs_next - values))


def corrected_returns(correction, behaviour_log_probs, target_log_probs, rewards, discounts, values,
                      bootstrap_value, clip_rho=1.0, clip_c=1.0, clip_pg_rho=1.0, lam=1.0) -> VtraceReturns:
    """The critic's targets and the advantages under ``correction`` (CORRECTIONS; the module docstring)."""
    if correction == "vtrace":
        return vtrace(behaviour_log_probs, target_log_probs, rewards, discounts, values, bootstrap_value,
                      clip_rho, clip_c, clip_pg_rho, lam)
    # "none" and "one_step_is": mu taken as pi, so every ratio is 1 and vs is the n-step return
    vs, advantages = vtrace(target_log_probs, target_log_probs, rewards, discounts, values, bootstrap_value,
                            clip_rho, clip_c, clip_pg_rho, lam)
    if correction == "one_step_is":
        rhos = torch.exp(target_log_probs - behaviour_log_probs)                # pi / mu of each step alone
        advantages = advantages * (rhos if clip_pg_rho is None else torch.clamp(rhos, max=clip_pg_rho))
    return VtraceReturns(vs, advantages)


def build_model(config: Config) -> ActorCritic:
    return ActorCritic(*env_dims(config.env_id, config.env_kwargs), config.hidden)


@torch.no_grad()
def sample_actions(model, obs, generator=None, epsilon=0.0):
    """One batched forward for every env: actions a ~ mu(.|x) and their log-probs log mu(a|x), numpy [E].
    mu is the model's policy, mixed with the uniform one when ``epsilon`` > 0 (``off_policy.behaviour_log_probs``).
    Draws from ``generator`` (an actor's own) when given, else from torch's global generator."""
    log_probs = behaviour_log_probs(model.policy_logits(torch.as_tensor(obs, dtype=torch.float32)), epsilon)
    actions = torch.multinomial(log_probs.exp(), 1, generator=generator)
    return actions.squeeze(-1).numpy(), log_probs.gather(-1, actions).squeeze(-1).numpy()


# ---------------------------------------------------------------------------------------------------------
# The actor: unrolls with a possibly stale copy of the policy (runs on a thread or in a process)
# ---------------------------------------------------------------------------------------------------------


def actor(ctx, config, t0):
    """One IMPALA actor. Puts one dict per unroll: obs, actions, behaviour_log_probs, rewards, terminated,
    truncated, final_obs ([T, E, ...], time-major), last_obs [E, ...], version, actor, t_start, t_end
    (seconds since ``t0``), episode_returns (episodes finished in this unroll). Its actions come from its
    own generator: on threads too, where actors share the global torch generator. Its sampler and its envs
    each get their own stream (``workers.stream_seed``)."""
    generator = torch.Generator().manual_seed(stream_seed(config.seed, "actions", ctx.index))
    envs = gym.vector.SyncVectorEnv([lambda: make_env(config.env_id, config.env_kwargs)] * config.envs_per_actor,
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = envs.reset(seed=stream_seed(config.seed, "env", ctx.index))     # env k gets that seed + k
    model = build_model(config)
    version, unrolls = -1, 0
    episode_return = np.zeros(config.envs_per_actor)
    while not ctx.should_stop():
        if unrolls % config.unrolls_per_weight_pull == 0:
            version = ctx.weights(model, version)
        t_start = time.time() - t0
        keys = ("obs", "actions", "behaviour_log_probs", "rewards", "terminated", "truncated", "final_obs")
        unroll, finished = {k: [] for k in keys}, []
        for _ in range(config.unroll_length):
            actions, behaviour_log_probs = sample_actions(model, obs, generator, config.actor_epsilon)
            next_obs, rewards, terminated, truncated, info = envs.step(actions)
            final_obs = np.zeros_like(obs)                  # the real last observation where an episode ended
            for i in np.flatnonzero(terminated | truncated):
                final_obs[i] = info["final_obs"][i]
            for key, value in (("obs", obs), ("actions", actions), ("rewards", rewards),
                               ("behaviour_log_probs", behaviour_log_probs), ("terminated", terminated),
                               ("truncated", truncated), ("final_obs", final_obs)):
                unroll[key].append(value)
            episode_return += rewards
            for i in np.flatnonzero(terminated | truncated):
                finished.append(float(episode_return[i]))
                episode_return[i] = 0.0
            obs = next_obs
        unroll = {k: np.stack(v) for k, v in unroll.items()}
        unroll.update(last_obs=obs, version=version, actor=ctx.index, t_start=t_start, t_end=time.time() - t0,
                      episode_returns=finished)
        ctx.put(unroll)
        unrolls += 1
    envs.close()


# ---------------------------------------------------------------------------------------------------------
# The learner: a batch of unrolls -> V-trace -> loss
# ---------------------------------------------------------------------------------------------------------


def stack_unrolls(unrolls, device="cpu") -> dict:
    """``batch_size`` unrolls [T, E, ...] side by side: tensors [T, batch_size * E, ...]."""
    keys = ("obs", "actions", "behaviour_log_probs", "rewards", "terminated", "truncated", "final_obs")
    batch = {k: np.concatenate([u[k] for u in unrolls], axis=1) for k in keys}     # side by side: axis 1 is B
    batch["last_obs"] = np.concatenate([u["last_obs"] for u in unrolls], axis=0)
    return {k: torch.as_tensor(v, device=device) for k, v in batch.items()}


def learner_inputs(model, batch, gamma):
    """Rewards and discounts for ``vtrace``: gamma_t = gamma * (1 - terminated_t), and where an episode was
    truncated (and not terminated) r_t + gamma * V(final obs) with gamma_t = 0. Plus V(x_T) to bootstrap."""
    terminated = batch["terminated"].float()
    truncated_only = batch["truncated"].float() * (1 - terminated)
    final_values = torch.zeros_like(terminated)             # V(final obs), needed where truncated only
    with torch.no_grad():
        cut = truncated_only.bool()
        if cut.any():
            final_values[cut] = model(batch["final_obs"][cut].float())[1]
        bootstrap_value = model(batch["last_obs"].float())[1]
    rewards = batch["rewards"].float() + truncated_only * gamma * final_values
    discounts = gamma * (1 - terminated) * (1 - truncated_only)
    return rewards, discounts, bootstrap_value


def learner_loss(model, batch, config):
    """The IMPALA loss of one batch (module docstring) and pi/mu, for the records."""
    logits, values = model(batch["obs"].float())
    log_pi = torch.log_softmax(logits, -1)
    target_log_probs = log_pi.gather(-1, batch["actions"].long().unsqueeze(-1)).squeeze(-1)
    rewards, discounts, bootstrap_value = learner_inputs(model, batch, config.gamma)
    vs, pg_advantages = corrected_returns(config.off_policy_correction, batch["behaviour_log_probs"].float(),
                                          target_log_probs.detach(), rewards, discounts, values.detach(),
                                          bootstrap_value, config.clip_rho, config.clip_c, config.clip_pg_rho,
                                          config.lam)
    entropy = -(log_pi.exp() * log_pi).sum(-1)
    loss = actor_critic_loss(target_log_probs, entropy, values, pg_advantages, vs, config.value_coef,
                             config.entropy_coef)
    return loss, torch.exp(target_log_probs - batch["behaviour_log_probs"].float()).detach()


# ---------------------------------------------------------------------------------------------------------
# train: actors fill the queue, the learner empties it, weights flow back
# ---------------------------------------------------------------------------------------------------------


def train(config: Config, *, progress=True, callback=None) -> TrainResult:
    """IMPALA with ``config.num_actors`` actors. Records: ``policy_lag`` (per unroll used: learner version
    minus behaviour version), ``rho_mean`` (mean pi/mu per update), ``replayed`` (past unrolls in each
    batch), ``queue`` ((seconds, unrolls waiting) per update), ``timeline`` (a ``timeline.Span`` per unroll,
    ``who`` = its actor, and per learner update, ``who`` = LEARNER), ``actor_steps_per_second`` (all actors'
    env steps divided by one actor's mean time spent unrolling: the actors' combined speed while they act,
    waits excluded;
    ``timeline.steady_steps_per_second`` gives the throughput),
    ``learner_steps_per_second`` (env steps per second spent updating), ``updates``. Ctrl-C returns the
    partial result; an exception in an actor stops all of them and is re-raised here, carrying the result so
    far as ``error.partial``."""
    with torch_threads(1):
        run = Run(config, progress, callback)
        t0 = time.time()
        torch.manual_seed(stream_seed(config.seed, "weights"))
        model = build_model(config).to(config.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, foreach=True)
        records = run.result.records
        records.update(policy_lag=[], rho_mean=[], replayed=[], queue=[], timeline=[], updates=0)
        pool = make_pool(actor, config.num_actors, config.backend, args=(config, t0),
                          weights={k: v.cpu() for k, v in model.state_dict().items()}, max_queue=config.max_queue,
                          **ray_options(config))
        pending, version, learner_seconds = [], 0, 0.0
        replayed = round(config.replay_fraction * config.batch_size)   # per batch; Config made it whole
        fresh = config.batch_size - replayed                              # new unrolls per batch: at least 1
        replay = Replay(config.replay_capacity_unrolls, np.random.default_rng(stream_seed(config.seed, "replay")))

        def receive(unroll):
            pending.append(unroll)
            steps = unroll["rewards"].size
            records["timeline"].append(Span(unroll["actor"], unroll["t_start"], unroll["t_end"], steps))
            run.add_steps(steps)
            for episode_return in unroll["episode_returns"]:
                run.add_episode(episode_return)

        def learn(unrolls):
            nonlocal version, learner_seconds
            start = time.time() - t0
            loss, rhos = learner_loss(model, stack_unrolls(unrolls, config.device), config)
            optimizer.zero_grad()
            loss.total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            version = pool.publish(model.state_dict())
            end = time.time() - t0
            learner_seconds += end - start
            records["timeline"].append(Span(LEARNER, start, end, 0))
            records["policy_lag"] += [version - 1 - u["version"] for u in unrolls]
            records["rho_mean"].append(float(rhos.mean()))
            records["replayed"].append(len(unrolls) - fresh)
            records["queue"].append((end, pool.backlog()))

        def act_greedy(obs):
            return model.greedy(obs).cpu().numpy()

        interrupted = False
        try:
            with pool:
                records["workers"] = pool.describe()    # where they run (Ray: actor names, nodes)
                while not run.done:
                    unroll = pool.get(timeout=0.05)
                    if unroll is not None:
                        receive(unroll)
                    if len(pending) >= fresh:     # a batch: `fresh` new unrolls and `replayed` past ones
                        learn(pending[:fresh] + replay.sample(replayed))
                        if replayed:
                            replay.add(pending[:fresh])
                        del pending[:fresh]
                    run.maybe_evaluate(act_greedy)
        except KeyboardInterrupt:
            interrupted = True
        except WorkerError as error:     # a worker failed: the result so far rides on the error, nothing lost
            error.partial = run.finish(model, interrupted=True)
            raise
        for unroll in pool.drain():          # unrolls sent while the actors were stopping: count their episodes
            receive(unroll)
        records["workers"] = pool.describe()        # now with the final count of restarts (Ray)
        busy = sum(row.end - row.start for row in worker_rows(records["timeline"])) / config.num_actors
        records["actor_steps_per_second"] = run.result.env_steps / busy if busy > 0 else float("nan")
        used = records["updates"] = version
        records["learner_steps_per_second"] = (used * config.batch_size * config.unroll_length * config.envs_per_actor
                                               / learner_seconds if learner_seconds > 0 else float("nan"))
        return run.finish(model, interrupted)


# ---------------------------------------------------------------------------------------------------------
# Throughput: the actors' env steps/s against a baseline that only acts
# ---------------------------------------------------------------------------------------------------------


def no_learning_steps_per_second(config: Config, env_steps=20_000) -> float:
    """The baseline: the same number of envs (num_actors * envs_per_actor) in the same vector env class,
    stepped with actions sampled from the same network's batched forward; no queue, no learner, one process."""
    n = config.num_actors * config.envs_per_actor
    with torch_threads(1):
        envs = gym.vector.SyncVectorEnv([lambda: make_env(config.env_id, config.env_kwargs)] * n,
                                        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
        model = build_model(config)
        obs, _ = envs.reset(seed=config.seed)
        start, steps = time.perf_counter(), 0
        while steps < env_steps:
            obs, *_ = envs.step(sample_actions(model, obs)[0])
            steps += n
        envs.close()
        return steps / (time.perf_counter() - start)
