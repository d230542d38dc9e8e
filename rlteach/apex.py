"""Ape-X DQN: distributed prioritized experience replay (Horgan et al. 2018).

Many actors, each exploring with its OWN epsilon, feed ONE central prioritized replay; one learner samples
by priority, learns, and sends new priorities back. The data flow, top to bottom in this file:

    actor i:  env -> eps_i-greedy action from its copy of Q -> n-step transitions (replay.NStepBuilder)
              -> INITIAL priorities |delta| computed locally with its copy of Q -> message to the learner
    learner:  replay.add_batch(transitions, priorities) -> sample by priority -> double DQN n-step loss,
              weighted by importance weights -> Adam step -> new priorities -> publish new weights
    actor i:  pulls the newest weights every ``env_steps_per_weight_sync`` env steps

The epsilon ladder (``epsilon_ladder``): actor i of num_actors explores with

    eps_i = eps ** (1 + i / (num_actors - 1) * epsilon_exponent)   (eps = 0.4 and, as the paper calls it, alpha = 7)

so actor 0 explores a lot (eps_0 = 0.4) and the last one hardly at all (0.4^8 = 0.00066 with the paper's values).
Epsilons are fixed; nothing is annealed: the spread over actors replaces a schedule over time.

The n-step double DQN target and TD error (``n_step_td``), for a stored (s_t, a_t, reward, gamma^k, s_{t+k}, done),
where reward = r_t + gamma r_{t+1} + ... + gamma^(k-1) r_{t+k-1} sums k rewards (k = n_step, fewer where the
episode ended sooner):

    a*      = argmax_a Q(s_{t+k}, a; theta)                         the online net picks the action (double DQN)
    G       = reward + (1 - done) * gamma^k * Q(s_{t+k}, a*; theta^-)   the target net values it
    delta   = G - Q(s_t, a_t; theta)

Prioritized replay (``rlteach.replay``): P(i) = p_i^priority_alpha / sum_k p_k^priority_alpha with p = |delta| +
priority_eps; the loss is weighted by w_i = (N P(i))^(-priority_beta) / max w, N the transitions in the replay
(max w: the batch's, see there), to undo the bias that sampling by priority adds. The key idea of Ape-X: the
ACTORS compute a new transition's first priority (the same ``n_step_td`` under their own copy of the network),
so the learner never has to insert with a guessed priority and a million fresh transitions never look equally
urgent.

Flow control (our addition; the paper relied on 360 actors feeding one GPU learner): the learner makes one
update per ``env_steps_per_update`` env steps it has received, and an actor that gets more than its share
ahead of the learner waits. So a run makes the same number of updates per env step on threads, on
processes, and on a loaded machine: the backend changes the wall time, not the algorithm (chance still
separates two runs; notebook 04 compares the backends over seeds).

The optimizer departs from the paper too: Adam, where the paper's learner uses centred RMSprop (Config's
``lr`` says why).
"""

from __future__ import annotations

import copy
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from rlteach import checks
from rlteach.envs import env_dims, make_env
from rlteach.monitor import Run, TrainResult
from rlteach.nets import QNetwork, torch_threads
from rlteach.replay import NStepBuilder, PrioritizedReplay, priorities_from_td, stack
from rlteach.workers import WorkerError, make_pool, ray_options, stream_seed


@dataclass
class Config:
    """Ape-X DQN hyperparameters; every default lives here (CartPole-v1 on a 2-core laptop)."""

    env_id: str = "CartPole-v1"     # a Gymnasium id: flat Box observations, Discrete actions
    env_kwargs: dict | None = None  # passed to gym.make, e.g. {"delay_ms": 1.0} for rlteach/SlowCartPole-v1
    seed: int = 0                   # the run's one SeedSequence: every random stream (workers.stream_seed)
    total_steps: int = 300_000      # env steps at most (a run usually stops earlier, when solved)
    eval_every: int | None = 2000   # env steps between greedy evaluations (the solved check); None: none
    eval_episodes: int = 10         # greedy episodes per evaluation (their mean decides "solved")
    stop_when_solved: bool = True   # end the run at the first evaluation that reaches the threshold
    device: str = "cpu"             # the learner's device; actors always act on the CPU
    num_actors: int = 2             # actors, each with its own env, epsilon and copy of Q
    backend: str = "thread"         # "thread", "process" or "ray" (rlteach.workers)
    ray_address: str | None = None  # backend "ray": None starts Ray here; "auto" or "ray://host:10001" joins a cluster
    epsilon: float = 0.4            # eps of the ladder eps_i = eps ** (1 + i/(num_actors-1) * epsilon_exponent)
    epsilon_exponent: float = 7.0   # how steeply the ladder falls from actor 0 to the last actor
    n_step: int = 3                 # n of the n-step return
    gamma: float = 0.99             # discount
    buffer_size: int = 50_000       # transitions the replay holds (oldest overwritten)
    priority_alpha: float = 0.6     # how strongly sampling follows priority (0 = uniform replay)
    priority_beta: float = 0.4      # how fully importance weights undo that (1 = fully), fixed as in Ape-X
    priority_eps: float = 1e-3      # p = |delta| + priority_eps, so no transition gets probability 0
    batch_size: int = 64            # transitions per learner update
    # Adam, where the paper's learner uses centred RMSprop (decay 0.95, eps 1.5e-7): lr and hidden come from the
    # rl-zoo DQN for CartPole, which trains with Adam (Stable-Baselines3's default). How centred RMSprop did at
    # this lr, measured: benchmarks/results/departures.md.
    lr: float = 2.3e-3              # Adam's learning rate
    learning_starts: int = 1000     # env steps received before the learner's first update
    env_steps_per_update: int = 4   # flow control: one learner update per this many env steps
    updates_per_target_copy: int = 100      # learner updates between copies theta^- <- theta
    env_steps_per_weight_sync: int = 100    # env steps between an actor's weight pulls (the paper: 400)
    transitions_per_message: int = 50       # transitions per message at most (the paper: 50); fewer when waiting
    max_grad_norm: float = 10.0     # gradients are clipped to this global norm
    hidden: tuple = (256, 256)      # as the rl-zoo DQN for CartPole (lr 2.3e-3 too); at least one layer
    dueling: bool = False           # dueling head: Q = V + A - mean A (nets.QNetwork)

    def __post_init__(self):
        checks.check_common(self)
        checks.check_number("num_actors", self.num_actors, 1, checks.MAX_PARALLEL, integer=True)
        checks.check_backend(self.backend, self.ray_address)
        checks.check_number("epsilon", self.epsilon, 0, 1)
        checks.check_number("epsilon_exponent", self.epsilon_exponent, 0)
        checks.check_number("n_step", self.n_step, 1, checks.MAX_ROLLOUT, integer=True)
        checks.check_number("gamma", self.gamma, 0, 1)
        checks.check_number("buffer_size", self.buffer_size, 1, checks.MAX_BUFFER, integer=True)
        checks.check_number("priority_alpha", self.priority_alpha, 0, 1)
        checks.check_number("priority_beta", self.priority_beta, 0, 1)
        checks.check_number("priority_eps", self.priority_eps, 0, low_open=True)
        checks.check_number("batch_size", self.batch_size, 1, checks.MAX_BATCH, integer=True)
        checks.check_number("lr", self.lr, 0, low_open=True)
        checks.check_number("learning_starts", self.learning_starts, 0, integer=True)
        for name in ("env_steps_per_update", "updates_per_target_copy", "env_steps_per_weight_sync"):
            checks.check_number(name, getattr(self, name), 1, integer=True)
        checks.check_number("transitions_per_message", self.transitions_per_message, 1, checks.MAX_QUEUE, integer=True)
        checks.check_number("max_grad_norm", self.max_grad_norm, 0, low_open=True)
        self.hidden = checks.check_hidden(self.hidden, allow_empty=False)
        checks.check_bool("dueling", self.dueling)


# ---------------------------------------------------------------------------------------------------------
# The math: the epsilon ladder and the n-step double DQN TD error
# ---------------------------------------------------------------------------------------------------------


def epsilon_ladder(num_actors, eps=0.4, exponent=7.0) -> np.ndarray:
    """eps_i = eps ** (1 + i / (num_actors - 1) * exponent) for i = 0 .. num_actors-1; one actor gets [eps]."""
    checks.check_number("num_actors", num_actors, 1, integer=True)
    checks.check_number("eps", eps, 0, 1)
    checks.check_number("exponent", exponent, 0)
    if num_actors == 1:
        return np.array([float(eps)])
    i = np.arange(num_actors)
    return eps ** (1 + i / (num_actors - 1) * exponent)


def n_step_td(online, target, batch) -> torch.Tensor:
    """delta = reward + (1 - done) gamma^k Q(s', argmax_a Q(s', a; theta); theta^-) - Q(s, a; theta), one per row.

    ``batch`` holds torch tensors obs, action, reward (k rewards summed), discount (gamma^k), next_obs (s' = s_{t+k}),
    done. Gradients flow through Q(s, a; theta) only. An actor passes its one local network as both ``online`` and
    ``target``."""
    q_sa = online(batch["obs"]).gather(-1, batch["action"].long().unsqueeze(-1)).squeeze(-1)
    with torch.no_grad():
        next_action = online(batch["next_obs"]).argmax(-1, keepdim=True)
        next_q = target(batch["next_obs"]).gather(-1, next_action).squeeze(-1)
        g = batch["reward"] + (1.0 - batch["done"]) * batch["discount"] * next_q
    return g - q_sa


def as_tensors(batch, device="cpu") -> dict:
    return {k: torch.as_tensor(v, device=device) for k, v in batch.items()}


def build_model(config: Config) -> QNetwork:
    return QNetwork(*env_dims(config.env_id, config.env_kwargs), config.hidden, config.dueling)


# ---------------------------------------------------------------------------------------------------------
# The actor (runs on a thread or in a process)
# ---------------------------------------------------------------------------------------------------------


def allowed_steps(config: Config, learner_version: int) -> float:
    """Flow control: the env steps one actor may have taken once the learner published ``learner_version``
    (the learner publishes after every update, so the version counts its updates). The slack is a message
    plus the n - 1 steps whose transitions still wait in the actor's NStepBuilder: the learner has not been
    told of those, and without room for them a small ``transitions_per_message`` (1 or 2) would leave actor and learner
    each waiting for the other."""
    total = config.learning_starts + learner_version * config.env_steps_per_update
    return total / config.num_actors + config.transitions_per_message + config.n_step - 1


def wait_for_learner(ctx, config, steps):
    """An actor ahead of the learner sleeps until half a message's worth of steps (at least one) more are
    allowed, or the pool stops. (Named, so that a profiler files this time under waiting.)"""
    resume = max(1, config.transitions_per_message // 2)
    while steps + resume > allowed_steps(config, ctx.version()) and not ctx.should_stop():
        time.sleep(0.001)


def actor(ctx, config):
    """One Ape-X actor: eps_i-greedy in its own env (i = ctx.index). Every ``transitions_per_message`` transitions it
    sends (index, transitions, initial priorities, env steps, finished episode returns, versions, weight
    copies); env steps, returns and weight copies are those since its previous message, and ``versions``
    holds, per transition, the weight version its first action was chosen with. When the pool stops, it
    sends what it still holds (``NStepBuilder.flush``), so every step it took reaches the learner. Its
    exploration coin, its env and its random actions each get their own stream (``workers.stream_seed``)."""
    epsilon = epsilon_ladder(config.num_actors, config.epsilon, config.epsilon_exponent)[ctx.index]
    rng = np.random.default_rng(stream_seed(config.seed, "explore", ctx.index))     # the coin: explore or not
    env = make_env(config.env_id, config.env_kwargs)
    obs, _ = env.reset(seed=stream_seed(config.seed, "env", ctx.index))
    env.action_space.seed(stream_seed(config.seed, "action_space", ctx.index))    # the random action
    q = build_model(config)
    version = ctx.weights(q)
    builder = NStepBuilder(config.n_step, config.gamma)
    acted_with = deque()                # the version of each step still inside the builder, oldest first
    outbox, versions, finished, episode_return = [], [], [], 0.0
    steps, sent_steps, pulls = 0, 0, 1              # pulls: 1 for the first copy

    def post(transitions):
        nonlocal outbox, versions
        outbox += transitions
        versions += [acted_with.popleft() for _ in transitions]    # a transition is its first step's

    def send():
        nonlocal outbox, versions, finished, sent_steps, pulls
        batch = stack(outbox)
        with torch.no_grad():                       # initial priorities from the actor's own |delta|
            priorities = priorities_from_td(n_step_td(q, q, as_tensors(batch)), config.priority_eps)
        ctx.put((ctx.index, batch, priorities, steps - sent_steps, finished, np.array(versions), pulls))
        outbox, versions, finished, sent_steps, pulls = [], [], [], steps, 0

    while not ctx.should_stop():
        if steps >= allowed_steps(config, ctx.version()):     # ahead of the learner: hand over, then wait
            if outbox:
                send()
            wait_for_learner(ctx, config, steps)
            continue
        if steps % config.env_steps_per_weight_sync == 0:
            pulled = ctx.weights(q, version)
            pulls += pulled != version              # a copy happened only if newer weights were there
            version = pulled
        if rng.random() < epsilon:
            action = int(env.action_space.sample())
        else:
            action = int(q.greedy(obs))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        steps += 1
        episode_return += reward
        acted_with.append(version)
        post(builder.add(obs, action, reward, next_obs, terminated, truncated))
        obs = next_obs
        if terminated or truncated:
            finished.append(episode_return)
            episode_return = 0.0
            obs, _ = env.reset()
        if len(outbox) >= config.transitions_per_message:
            send()
    post(builder.flush(obs))                        # stopping: the steps still inside the builder
    if outbox:
        send()
    env.close()


# ---------------------------------------------------------------------------------------------------------
# The learner: one prioritized double DQN update
# ---------------------------------------------------------------------------------------------------------


LOSS_RECORD_EVERY = 50      # learner updates between two entries of records["losses"]


def learner_step(q, target, optimizer, replay, config) -> float:
    """Sample by priority, minimise mean_i w_i * huber(delta_i), write p_i = |delta_i| + priority_eps back."""
    batch, indices, weights = replay.sample(config.batch_size, config.priority_beta)
    delta = n_step_td(q, target, as_tensors(batch, config.device))
    weights = torch.as_tensor(weights, device=config.device)
    loss = (weights * F.huber_loss(delta, torch.zeros_like(delta), reduction="none")).mean()
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(q.parameters(), config.max_grad_norm)
    optimizer.step()
    replay.update_priorities(indices, priorities_from_td(delta.detach(), config.priority_eps))
    return loss.item()


# ---------------------------------------------------------------------------------------------------------
# train: actors feed the replay, the learner learns from it, weights flow back
# ---------------------------------------------------------------------------------------------------------


def train(config: Config, *, progress=True, callback=None) -> TrainResult:
    """Ape-X DQN with ``config.num_actors`` actors. Records: ``epsilons``; ``actor_returns`` (actor index,
    env steps, return) per finished episode; ``losses`` (update, loss) every ``LOSS_RECORD_EVERY`` updates;
    ``policy_lag`` (learner updates minus the version the message's oldest transition was acted with) per message;
    ``messages`` (messages received); ``weight_pulls`` (weight copies the actors made, as their messages
    report them); ``updates``. Ctrl-C returns the partial result; an exception in an actor stops all of
    them and is re-raised here, carrying the result so far as ``error.partial``."""
    with torch_threads(1):
        run = Run(config, progress, callback)
        torch.manual_seed(stream_seed(config.seed, "weights"))
        q = build_model(config).to(config.device)
        target = copy.deepcopy(q)
        optimizer = torch.optim.Adam(q.parameters(), lr=config.lr, foreach=True)
        replay = PrioritizedReplay(config.buffer_size, config.priority_alpha,
                                   seed=stream_seed(config.seed, "replay"))
        epsilons = epsilon_ladder(config.num_actors, config.epsilon, config.epsilon_exponent)
        records = run.result.records
        records.update(epsilons=epsilons.tolist(), actor_returns=[], losses=[], policy_lag=[], updates=0,
                       messages=0, weight_pulls=0)
        pool = make_pool(actor, config.num_actors, config.backend, args=(config,), weights=q.state_dict(),
                          **ray_options(config))
        updates = 0

        def receive(item):
            index, batch, priorities, steps, finished, versions, pulls = item
            records["messages"] += 1
            records["weight_pulls"] += pulls
            replay.add_batch(batch, priorities)
            run.add_steps(steps)
            records["policy_lag"].append(updates - int(versions.min()))     # the message's oldest transition
            for episode_return in finished:
                records["actor_returns"].append((index, run.result.env_steps, episode_return))
                run.add_episode(episode_return)

        def updates_owed() -> bool:
            ready = run.result.env_steps >= config.learning_starts and len(replay) >= config.batch_size
            return ready and updates < (run.result.env_steps - config.learning_starts) / config.env_steps_per_update

        def act_greedy(obs):
            return q.greedy(obs).cpu().numpy()

        interrupted = False
        try:
            with pool:
                records["workers"] = pool.describe()    # where they run (Ray: actor names, nodes)
                while not run.done:
                    item = pool.get(timeout=0 if updates_owed() else 0.05)
                    if item is not None:
                        receive(item)
                    if updates_owed():
                        loss = learner_step(q, target, optimizer, replay, config)
                        updates += 1
                        if updates % LOSS_RECORD_EVERY == 0:
                            records["losses"].append((updates, loss))
                        if updates % config.updates_per_target_copy == 0:
                            target.load_state_dict(q.state_dict())
                        pool.publish(q.state_dict())        # version == updates: actors pull when due
                    run.maybe_evaluate(act_greedy)
        except KeyboardInterrupt:
            interrupted = True
        except WorkerError as error:     # a worker failed: the result so far rides on the error, nothing lost
            error.partial = run.finish(q, interrupted=True)
            raise
        for item in pool.drain():           # messages sent while the actors were stopping
            receive(item)
        records["workers"] = pool.describe()        # now with the final count of restarts (Ray)
        records["updates"] = updates
        return run.finish(q, interrupted)
