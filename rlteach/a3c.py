"""A3C: asynchronous advantage actor-critic (Mnih et al. 2016, "Asynchronous Methods for Deep RL").

Many workers, each with its own environment and its own copy of the network, update ONE shared network
without waiting for each other (agent-parallelism). Each worker repeats:

    1. copy      theta_local <- theta_shared
    2. roll out  up to t_max steps in its own env with pi(.|s; theta_local)
    3. compute   R_t = r_t + gamma R_{t+1}, bootstrapped with V(s_last) unless the episode terminated
                 (``advantage.discounted_returns``); A_t = R_t - V(s_t); the actor-critic loss
                 (``policy_gradient.actor_critic_loss``); its gradient on theta_local
    4. apply     that gradient to theta_shared through the SHARED optimizer

Hogwild (Recht et al. 2011): step 4 takes no lock by default. Two workers may write the same weights at
once; with small, sparse-enough updates that costs little and removes all waiting. ``lock=True`` locks
ONLY the optimizer step, never the whole cycle. While a worker rolls out, others apply their updates: the
gradient it applies was computed for weights that are ``staleness`` updates old.

Shared RMSProp, one set of statistics g for all workers (the DeepMind/TF form, eps inside the root):

    g     <- alpha * g + (1 - alpha) * grad^2                                       (SharedRMSprop.step)
    theta <- theta - lr * grad / sqrt(g + eps)

(torch.optim.RMSprop instead divides by sqrt(g) + eps.) Shared Adam (``optimizer="adam"``) keeps one
shared m, v and step count the same way.

Settings reported for Atari reproductions: lr 7e-4, alpha 0.99, eps 0.1, t_max 5, entropy 0.01, 16
workers. The defaults below are for CartPole-v1 on a 2-core laptop.

Backends (``rlteach.workers``): "thread" shares the model object itself; "process" puts the model and the
optimizer statistics in shared memory (``share_memory_()``), so every process writes the same weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from rlteach.advantage import discounted_returns
from rlteach.monitor import Run, TrainResult, check_common, check_number, env_dims, torch_threads
from rlteach.nets import ActorCritic
from rlteach.policy_gradient import actor_critic_loss, check_actor_critic
from rlteach.workers import BACKENDS, WorkerPool, new_lock


@dataclass
class Config:
    """A3C hyperparameters; every default lives here."""

    env_id: str = "CartPole-v1"
    seed: int = 0
    total_steps: int = 500_000
    eval_every: int = 2000
    eval_episodes: int = 10
    stop_when_solved: bool = True
    device: str = "cpu"
    num_workers: int = 2            # workers, each with its own env and network copy
    backend: str = "thread"         # "thread" or "process" (rlteach.workers)
    lock: bool = False              # True: lock only the shared optimizer step (Hogwild when False)
    t_max: int = 50                 # steps per worker between updates (or to the episode end)
    gamma: float = 0.99
    lr: float = 1e-3
    optimizer: str = "rmsprop"      # "rmsprop" (shared statistics, eps inside the root) or "adam"
    rms_alpha: float = 0.99
    rms_eps: float = 1e-5
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    max_grad_norm: float = 0.5
    hidden: tuple = (64, 64)

    def __post_init__(self):
        check_common(self)
        if self.device != "cpu":
            raise ValueError(f"device={self.device!r} is not supported by A3C: its workers share one CPU model")
        check_number("num_workers", self.num_workers, 1, integer=True)
        if self.backend not in BACKENDS:
            raise ValueError(f"backend={self.backend!r} is not allowed; choose one of {BACKENDS}")
        if not isinstance(self.lock, bool):
            raise TypeError(f"lock must be True or False, got {self.lock!r}")
        check_number("t_max", self.t_max, 1, integer=True)
        if self.optimizer not in ("rmsprop", "adam"):
            raise ValueError(f"optimizer={self.optimizer!r} is not allowed; choose 'rmsprop' or 'adam'")
        check_actor_critic(self)


# ---------------------------------------------------------------------------------------------------------
# Shared optimizers: statistics in shared memory, applied to the shared parameters
# ---------------------------------------------------------------------------------------------------------


class SharedRMSprop:
    """RMSProp with ONE g per parameter for all workers: g <- alpha g + (1-alpha) grad^2,
    theta <- theta - lr grad / sqrt(g + eps). ``step(params, grads)`` updates ``params`` in place."""

    def __init__(self, params, lr, alpha=0.99, eps=1e-5):
        self.lr, self.alpha, self.eps = lr, alpha, eps
        self.g = [torch.zeros_like(p).share_memory_() for p in params]
        self.steps = torch.zeros(1, dtype=torch.int64).share_memory_()

    @torch.no_grad()
    def step(self, params, grads):
        for p, grad, g in zip(params, grads, self.g, strict=True):
            g.mul_(self.alpha).addcmul_(grad, grad, value=1 - self.alpha)
            p.addcdiv_(grad, (g + self.eps).sqrt(), value=-self.lr)
        self.steps += 1


class SharedAdam:
    """Adam with one shared m, v and step count: m <- b1 m + (1-b1) grad, v <- b2 v + (1-b2) grad^2,
    theta <- theta - lr m_hat / (sqrt(v_hat) + eps), with bias-corrected m_hat, v_hat."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = [torch.zeros_like(p).share_memory_() for p in params]
        self.v = [torch.zeros_like(p).share_memory_() for p in params]
        self.steps = torch.zeros(1, dtype=torch.int64).share_memory_()

    @torch.no_grad()
    def step(self, params, grads):
        self.steps += 1
        b1, b2 = self.betas
        t = int(self.steps.item())
        for p, grad, m, v in zip(params, grads, self.m, self.v, strict=True):
            m.mul_(b1).add_(grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
            p.addcdiv_(m / (1 - b1**t), (v / (1 - b2**t)).sqrt() + self.eps, value=-self.lr)


def build_model(config: Config) -> ActorCritic:
    return ActorCritic(*env_dims(config.env_id), config.hidden)


# ---------------------------------------------------------------------------------------------------------
# The worker: copy, roll out, compute, apply (runs on a thread or in a process)
# ---------------------------------------------------------------------------------------------------------


def worker(ctx, config, shared_model, optimizer, lock, counter, t0):
    """One A3C worker (see the module docstring). Reports one record per update through ``ctx.put``:
    (worker, t_copy, t_rolled_out, t_computed, t_applied, staleness, env_steps, finished episode returns),
    times in seconds since ``t0`` (time.time() when train() started). ``counter`` is (a shared count of the
    updates applied so far, its lock)."""
    updates, counter_lock = counter
    torch.manual_seed(config.seed * 1000 + ctx.index)
    env = gym.make(config.env_id)
    obs, _ = env.reset(seed=config.seed * 1000 + ctx.index)
    local = build_model(config)
    episode_return = 0.0
    while not ctx.should_stop():
        # 1. copy the shared weights, and remember how many updates the shared model had then
        t_copy = time.time() - t0
        local.load_state_dict(shared_model.state_dict())
        seen_updates = int(updates.item())
        # 2. roll out up to t_max steps with the local copy
        batch = {"obs": [], "actions": [], "rewards": [], "terminated": [], "truncated": []}
        finished = []
        for _ in range(config.t_max):
            action = local.sample(obs).item()
            next_obs, reward, terminated, truncated, _ = env.step(action)
            for key, value in (("obs", obs), ("actions", action), ("rewards", reward),
                               ("terminated", terminated), ("truncated", truncated)):
                batch[key].append(value)
            episode_return += reward
            obs = next_obs
            if terminated or truncated:
                finished.append(episode_return)
                episode_return = 0.0
                obs, _ = env.reset()
                break                       # an update never spans two episodes
        t_rolled = time.time() - t0
        # 3. returns (bootstrapped with V(last obs) unless terminated), advantages, loss, local gradient
        logits, values = local(torch.as_tensor(np.array(batch["obs"]), dtype=torch.float32))
        with torch.no_grad():
            bootstrap = local(torch.as_tensor(next_obs, dtype=torch.float32))[1].item()
        next_values = np.r_[values.detach().numpy()[1:], bootstrap]
        returns = torch.as_tensor(discounted_returns(np.array(batch["rewards"]), next_values,
                                                     np.array(batch["terminated"]), np.array(batch["truncated"]),
                                                     config.gamma), dtype=torch.float32)
        dist = torch.distributions.Categorical(logits=logits)
        loss = actor_critic_loss(dist.log_prob(torch.as_tensor(batch["actions"])), dist.entropy(), values,
                                 returns - values.detach(), returns, config.value_coef, config.entropy_coef)
        grads = torch.autograd.grad(loss.total, list(local.parameters()))
        norm = torch.sqrt(sum((g**2).sum() for g in grads))
        grads = [g * min(1.0, config.max_grad_norm / (norm.item() + 1e-6)) for g in grads]
        t_computed = time.time() - t0
        # 4. apply to the shared weights: Hogwild, or holding the lock for this step only
        if lock is not None:
            with lock:
                optimizer.step(list(shared_model.parameters()), grads)
        else:
            optimizer.step(list(shared_model.parameters()), grads)
        with counter_lock:
            staleness = int(updates.item()) - seen_updates   # updates others applied since our copy
            updates += 1
        ctx.put((ctx.index, t_copy, t_rolled, t_computed, time.time() - t0, staleness, len(batch["rewards"]),
                 finished))
    env.close()


# ---------------------------------------------------------------------------------------------------------
# train: start the workers, count what they report, evaluate the shared model, stop
# ---------------------------------------------------------------------------------------------------------


def train(config: Config, *, progress=True, callback=None) -> TrainResult:
    """A3C on ``config.num_workers`` workers. Records: ``timeline`` (one row per update: worker, t_copy,
    t_rolled_out, t_computed, t_applied, staleness, env_steps) and ``staleness``. Ctrl-C returns the partial result;
    an exception in a worker stops all workers and is re-raised here with the worker's traceback."""
    with torch_threads(1):
        run = Run(config, progress, callback)
        t0 = time.time()
        torch.manual_seed(config.seed)
        shared_model = build_model(config).share_memory()
        params = list(shared_model.parameters())
        if config.optimizer == "rmsprop":
            optimizer = SharedRMSprop(params, config.lr, config.rms_alpha, config.rms_eps)
        else:
            optimizer = SharedAdam(params, config.lr)
        lock = new_lock(config.backend) if config.lock else None     # guards the optimizer step only
        updates = torch.zeros(1, dtype=torch.int64).share_memory_()   # shared count of applied updates
        counter = (updates, new_lock(config.backend))
        pool = WorkerPool(worker, config.num_workers, config.backend,
                          args=(config, shared_model, optimizer, lock, counter, t0))
        timeline = run.result.records.setdefault("timeline", [])

        def act_greedy(obs):
            return shared_model.greedy(obs).numpy()

        def record(item):
            index, t_copy, t_rolled, t_computed, t_applied, staleness, steps, finished = item
            timeline.append([index, t_copy, t_rolled, t_computed, t_applied, staleness, steps])
            run.add_steps(steps)
            for episode_return in finished:
                run.add_episode(episode_return)

        interrupted = False
        try:
            with pool:
                while not run.done:
                    item = pool.get(timeout=0.1)
                    if item is not None:
                        record(item)
                    run.maybe_evaluate(act_greedy)
        except KeyboardInterrupt:
            interrupted = True
        for item in pool.drain():           # updates applied while the workers were stopping
            record(item)
        run.result.records["staleness"] = [row[5] for row in timeline]
        run.result.records["updates"] = int(updates.item())
        return run.finish(shared_model, interrupted)


def overlap_seconds(timeline) -> float:
    """Total time during which at least two workers were inside a copy-to-apply cycle at once."""
    events = sorted([(row[1], 1) for row in timeline] + [(row[4], -1) for row in timeline])
    inside, last, total = 0, None, 0.0
    for t, delta in events:
        if inside >= 2 and last is not None:
            total += t - last
        inside, last = inside + delta, t
    return total


def steady_steps_per_second(timeline) -> float:
    """Env steps/s once every worker is running: counted from the moment the LAST worker applied its first
    update (so process spawn and start-up are excluded) to the last update."""
    rows = sorted(timeline, key=lambda row: row[4])
    workers = {row[0] for row in rows}
    first_update = {w: min(row[4] for row in rows if row[0] == w) for w in workers}
    start = max(first_update.values())
    after = [row for row in rows if row[4] > start]
    if len(after) < 2:
        return float("nan")
    return sum(row[6] for row in after) / (after[-1][4] - start)


def measure_speed(backend, num_workers, env_steps=20_000, seed=0) -> float:
    """Steady-state env steps/s of A3C (acting AND learning) with ``num_workers`` workers on ``backend``."""
    config = Config(backend=backend, num_workers=num_workers, total_steps=env_steps, seed=seed,
                    stop_when_solved=False, eval_every=10**9)
    return steady_steps_per_second(train(config, progress=False).records["timeline"])
