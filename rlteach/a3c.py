"""A3C: asynchronous advantage actor-critic (Mnih et al. 2016, "Asynchronous Methods for Deep RL").

Many workers, each with its own environment and its own copy of the network, update ONE shared network
without waiting for each other (agent-parallelism). Each worker repeats:

    1. copy      theta_local <- theta_shared
    2. roll out  up to t_max steps in its own env with pi(.|s; theta_local)
    3. compute   G_t = r_t + gamma G_{t+1}, bootstrapped with V(s_last) unless the episode terminated
                 (``advantage.discounted_returns``; the paper writes this n-step return R); A_t = G_t - V(s_t);
                 the actor-critic loss SUMMED over the rollout's steps (``losses.actor_critic_loss``); its
                 gradient on theta_local (``rollout_gradients``), unclipped unless ``max_grad_norm`` is set
    4. apply     that gradient to theta_shared through the SHARED optimizer

Sum, not mean (step 3). A rollout ends early when the episode does, so its length varies from 1 to t_max.
The paper's Algorithm S3 ACCUMULATES the gradient step by step (d theta <- d theta + ...), a sum: every step
weighs the same. A mean, as A2C takes over its fixed-size [n_steps, num_envs] batch, would weigh each step
1/len, so a step's weight would depend on when the pole fell.

No clip (step 3), as in Algorithm S3. The sum grows with the rollout's length and with the returns, and it is
applied as it is: shared RMSProp divides each weight's g by the root of v, and v already holds
(1 - rms_decay) g^2 of this very g, so one step moves a weight by at most about lr / sqrt(1 - rms_decay)
(10 lr at the default decay), however large g is; Adam's step is bounded likewise. ``max_grad_norm``
(default None) clips the summed gradient's global norm for a reader who wants to try one
(``clip_by_global_norm``). That norm takes the policy's and the critic's gradients together, and on
CartPole the critic's is far the larger, so the critic's squared error decides when the policy's gradient
shrinks (the two norms, and how often the former default clip bound, measured:
benchmarks/results/departures.md).

Hogwild (Niu, Recht, Re, Wright 2011): step 4 takes no lock by default. Two workers may write the same weights at
once; with small, sparse-enough updates that costs little and removes all waiting. ``lock=True`` locks
ONLY the optimizer step, never the whole cycle. While a worker rolls out, others apply their updates: the
gradient it applies was computed for weights that are ``staleness`` updates old.

Shared RMSProp, one set of statistics v for all workers (the DeepMind/TF form, eps inside the root), with
notebook 02's letters: g the gradient a worker applies, v the running average of g^2:

    v     <- rms_decay * v + (1 - rms_decay) * g^2                     (shared_optim.SharedRMSprop.step)
    theta <- theta - lr * g / sqrt(v + eps)

(torch.optim.RMSprop instead divides by sqrt(v) + eps.) Shared Adam (``optimizer="adam"``) keeps one
shared m, v and step count the same way.

The paper gives a decay of 0.99 (its alpha) and t_max 5 for Atari; a full set that reproduces its Atari results
is ChainerRL's (examples/atari/reproduction/a3c/train_a3c.py, whose RMSpropAsync also puts eps inside the
root): lr 7e-4, decay 0.99, eps 0.1, t_max 5, entropy 0.01, 16 processes. The defaults below are for
CartPole-v1 on a 2-core laptop.

Where theta_shared lives (steps 1 and 4 are the only places a worker touches it)
-------------------------------------------------------------------------------
``SharedModel`` (backends "thread" and "process"): in this machine's memory. Threads share the model object
itself; processes map the model and the optimizer statistics from shared memory (``share_memory_()``), so
every worker reads and writes the same numbers, with no messages at all.

``ParameterServer`` (backend "ray"): machines share no memory, so theta and the optimizer live in one more
actor, the parameter server (Li et al. 2014), on any node of a Ray cluster. Step 1 is a pull (the server
sends its weights), step 4 a push (the worker sends its gradient; the server applies it). The server
handles one message at a time, so its updates never collide: the price is that every update is a round
trip over the network. ``sync=True`` makes it synchronous: the server waits for one gradient from every
worker, applies their mean once, and the workers wait for that before they go on (staleness 0, like A2C).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from rlteach import checks
from rlteach.advantage import discounted_returns
from rlteach.envs import env_dims, make_env
from rlteach.losses import actor_critic_loss
from rlteach.monitor import Run, TrainResult
from rlteach.nets import ActorCritic, NumpyPolicy, torch_threads
from rlteach.ray_backend import ray_init
from rlteach.shared_optim import SharedAdam, SharedRMSprop
from rlteach.timeline import A3CUpdate, steady_steps_per_second
from rlteach.workers import WorkerError, make_pool, new_lock, ray_options, stream_seed


@dataclass
class Config:
    """A3C hyperparameters; every default lives here."""

    env_id: str = "CartPole-v1"     # a Gymnasium id: flat Box observations, Discrete actions
    env_kwargs: dict | None = None  # passed to gym.make, e.g. {"delay_ms": 1.0} for rlteach/SlowCartPole-v1
    seed: int = 0                   # the run's one SeedSequence: every random stream (workers.stream_seed)
    total_steps: int = 500_000      # env steps at most (a run usually stops earlier, when solved)
    eval_every: int | None = 2000   # env steps between greedy evaluations (the solved check); None: none
    eval_episodes: int = 10         # greedy episodes per evaluation (their mean decides "solved")
    stop_when_solved: bool = True   # end the run at the first evaluation that reaches the threshold
    device: str = "cpu"             # "cpu" only: the workers share one CPU model
    num_workers: int = 2            # workers, each with its own env and network copy
    backend: str = "thread"         # "thread", "process" (shared memory) or "ray" (a parameter server)
    ray_address: str | None = None  # backend "ray": None starts Ray here; "auto" or "ray://host:10001" joins a cluster
    lock: bool = False              # True: lock only the shared optimizer step (Hogwild when False; thread/process)
    sync: bool = False              # backend "ray": the server applies the mean of one gradient per worker at once
    t_max: int = 50                 # steps per worker between updates (or to the episode end)
    gamma: float = 0.99             # discount
    lr: float = 1e-3                # learning rate of the shared optimizer
    optimizer: str = "rmsprop"      # "rmsprop" (shared statistics, eps inside the root) or "adam"
    rms_decay: float = 0.99         # RMSProp decay of the squared-gradient average v
    rms_eps: float = 1e-5           # RMSProp eps, inside the square root
    value_coef: float = 0.5         # weight of the critic's squared error in the loss
    entropy_coef: float = 0.01      # weight of the entropy bonus
    max_grad_norm: float | None = None  # None: no clip (Algorithm S3); a number clips the summed gradient's
                                        # global norm (policy and critic together: see the docstring)
    hidden: tuple = (64, 64)        # hidden layer sizes; () = a linear policy and value

    def __post_init__(self):
        checks.check_common(self)
        if self.device != "cpu":
            raise ValueError(f"device={self.device!r} is not supported by A3C: its workers share one CPU model")
        checks.check_number("num_workers", self.num_workers, 1, checks.MAX_PARALLEL, integer=True)
        checks.check_backend(self.backend, self.ray_address)
        checks.check_bool("lock", self.lock)
        checks.check_bool("sync", self.sync)
        if self.sync and self.backend != "ray":
            raise ValueError("sync=True needs backend='ray': synchronous updates go through the parameter server")
        checks.check_number("t_max", self.t_max, 1, checks.MAX_ROLLOUT, integer=True)
        checks.check_choice("optimizer", self.optimizer, ("rmsprop", "adam"))
        checks.check_actor_critic(self, allow_no_clip=True)


# ---------------------------------------------------------------------------------------------------------
# The network and the shared optimizer (statistics in shared memory: rlteach/shared_optim.py)
# ---------------------------------------------------------------------------------------------------------


def build_model(config: Config) -> ActorCritic:
    return ActorCritic(*env_dims(config.env_id, config.env_kwargs), config.hidden)


def make_optimizer(config: Config, params):
    if config.optimizer == "rmsprop":
        return SharedRMSprop(params, config.lr, config.rms_decay, config.rms_eps)
    return SharedAdam(params, config.lr)


# ---------------------------------------------------------------------------------------------------------
# Where theta_shared lives: shared memory (thread/process) or a parameter server (Ray). Same two methods:
#   copy_to(local) -> version       step 1: theta_local <- theta_shared; version = updates applied so far
#   apply(grads, seen) -> staleness step 4: apply a gradient computed on weights of version ``seen``
# ---------------------------------------------------------------------------------------------------------


class SharedModel:
    """theta in this machine's memory, shared by threads or processes; workers write their gradients into it
    directly (Hogwild), or holding ``lock`` for the optimizer step only (``Config(lock=True)``)."""

    def __init__(self, config: Config):
        torch.manual_seed(stream_seed(config.seed, "weights"))
        self.model = build_model(config).share_memory()
        self.optimizer = make_optimizer(config, list(self.model.parameters()))
        self.lock = new_lock(config.backend) if config.lock else None
        self.updates = torch.zeros(1, dtype=torch.int64).share_memory_()     # how many updates were applied
        self.counter_lock = new_lock(config.backend)

    def copy_to(self, local, should_stop=None) -> int:
        local.load_state_dict(self.model.state_dict())
        return int(self.updates.item())

    def apply(self, grads, seen) -> int:
        params = list(self.model.parameters())
        if self.lock is not None:
            with self.lock:
                self.optimizer.step(params, grads)
        else:
            self.optimizer.step(params, grads)
        with self.counter_lock:
            staleness = int(self.updates.item()) - seen    # updates others applied since our copy
            self.updates += 1
        return staleness

    def close(self, model) -> int:
        return self.copy_to(model)


class ParameterServer:
    """theta and its optimizer in one Ray actor. It runs one call at a time, so updates never collide.

    ``pull(newer_than)`` -> (version, state_dict, or None while version <= newer_than)
    ``push(grads, seen)`` -> staleness; with ``sync`` the gradient waits until every worker has pushed one,
    then their mean is applied once."""

    def __init__(self, config: Config):
        torch.set_num_threads(1)
        torch.manual_seed(stream_seed(config.seed, "weights"))
        self.model = build_model(config)
        self.optimizer = make_optimizer(config, list(self.model.parameters()))
        self.updates, self.sync, self.num_workers, self.waiting = 0, config.sync, config.num_workers, []

    def pull(self, newer_than=-1):
        return self.updates, (self.model.state_dict() if self.updates > newer_than else None)

    def push(self, grads, seen) -> int:
        staleness = self.updates - seen
        if self.sync:
            self.waiting.append(grads)
            if len(self.waiting) < self.num_workers:
                return staleness
            grads = [torch.stack(g).mean(0) for g in zip(*self.waiting, strict=True)]
            self.waiting = []
        self.optimizer.step(list(self.model.parameters()), grads)
        self.updates += 1
        return staleness


class ParameterServerClient:
    """What a worker (or train) holds of the parameter server: its Ray handle, behind the SharedModel API.
    With ``sync``, ``copy_to`` waits until the update its last push belongs to has been applied."""

    def __init__(self, config: Config):
        import ray

        ray_init(config.ray_address)
        self.server = ray.remote(num_cpus=0)(ParameterServer).remote(config)
        self.sync, self.pushed_at = config.sync, -1

    def copy_to(self, local, should_stop=None) -> int:
        import ray

        while True:
            version, state = ray.get(self.server.pull.remote(self.pushed_at if self.sync else -1))
            if state is not None:
                local.load_state_dict(state)
                return version
            if should_stop is not None and should_stop():
                return version
            time.sleep(0.001)                  # sync: the other workers' gradients are still on their way

    def apply(self, grads, seen) -> int:
        import ray

        self.pushed_at = seen
        return ray.get(self.server.push.remote(grads, seen))

    def close(self, model) -> int:
        """Copy the final weights into ``model``, then end the server; returns the number of updates."""
        import ray

        try:
            return self.copy_to(model)
        finally:
            ray.kill(self.server)


# ---------------------------------------------------------------------------------------------------------
# The worker: copy, roll out, compute, apply (runs on a thread or in a process)
# ---------------------------------------------------------------------------------------------------------


def rollout_gradients(local, batch, next_obs, config):
    """Step 3 of a worker: the gradient of the rollout's loss on theta_local, one tensor per parameter.

    G_t = r_t + gamma G_{t+1}, bootstrapped with V(next_obs) unless the episode terminated; A_t = G_t - V(s_t)
    (both constants). The loss is SUMMED over the rollout's steps (``reduction="sum"``), as Algorithm S3 of
    the paper accumulates d theta step by step: every step weighs the same, whether the pole fell after 3
    steps or the rollout ran its full t_max. (A mean would give each step the weight 1/len instead.)"""
    logits, values = local(torch.as_tensor(np.array(batch["obs"]), dtype=torch.float32))
    with torch.no_grad():
        bootstrap = local(torch.as_tensor(next_obs, dtype=torch.float32))[1].item()
    next_values = np.r_[values.detach().numpy()[1:], bootstrap]
    returns = torch.as_tensor(discounted_returns(np.array(batch["rewards"]), next_values,
                                                 np.array(batch["terminated"]), np.array(batch["truncated"]),
                                                 config.gamma), dtype=torch.float32)
    dist = torch.distributions.Categorical(logits=logits)
    loss = actor_critic_loss(dist.log_prob(torch.as_tensor(batch["actions"])), dist.entropy(), values,
                             returns - values.detach(), returns, config.value_coef, config.entropy_coef,
                             reduction="sum")
    return torch.autograd.grad(loss.total, list(local.parameters()))


def clip_by_global_norm(grads, max_norm):
    """Scale all gradients by min(1, max_norm / ||grads||), ||.|| the norm of them all as one vector (the
    policy's and the critic's together). Only with ``Config(max_grad_norm=...)``: Algorithm S3 has no clip."""
    norm = torch.sqrt(sum((g**2).sum() for g in grads))
    return [g * min(1.0, max_norm / (norm.item() + 1e-6)) for g in grads]


def worker(ctx, config, shared, t0):
    """One A3C worker (see the module docstring); ``shared`` is a SharedModel or a ParameterServerClient.
    Reports each update through ``ctx.put``: (its timeline row, ``timeline.A3CUpdate``, and the returns of the
    episodes it finished), times in seconds since ``t0`` (time.time() when train() started). It acts with a
    ``nets.NumpyPolicy`` on theta_local (torch's per-step overhead would serialize thread workers on the GIL;
    see there) and its own generator: on threads too, where every worker shares the process's global torch
    generator. Its env and its sampler each get their own stream (``workers.stream_seed``)."""
    env = make_env(config.env_id, config.env_kwargs)
    obs, _ = env.reset(seed=stream_seed(config.seed, "env", ctx.index))
    local = build_model(config)
    policy = NumpyPolicy(local, stream_seed(config.seed, "actions", ctx.index))   # reads theta_local in place
    episode_return = 0.0
    while not ctx.should_stop():
        # 1. copy the shared weights, and remember how many updates the shared model had then
        t_copy = time.time() - t0
        seen_updates = shared.copy_to(local, ctx.should_stop)
        if ctx.should_stop():               # (a sync server's wait ends early when the pool stops)
            break
        # 2. roll out up to t_max steps with the local copy
        batch = {"obs": [], "actions": [], "rewards": [], "terminated": [], "truncated": []}
        finished = []
        for _ in range(config.t_max):
            action = policy.sample(obs)
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
        # 3. returns, advantages, the summed loss and its gradient on theta_local (no clip unless asked for)
        grads = rollout_gradients(local, batch, next_obs, config)
        if config.max_grad_norm is not None:
            grads = clip_by_global_norm(grads, config.max_grad_norm)
        t_computed = time.time() - t0
        # 4. apply to the shared weights (SharedModel.apply or a push to the parameter server)
        staleness = shared.apply(grads, seen_updates)
        ctx.put((A3CUpdate(ctx.index, t_copy, time.time() - t0, len(batch["rewards"]), t_rolled, t_computed,
                           staleness), finished))
    env.close()


# ---------------------------------------------------------------------------------------------------------
# train: start the workers, count what they report, evaluate the shared model, stop
# ---------------------------------------------------------------------------------------------------------


def train(config: Config, *, progress=True, callback=None) -> TrainResult:
    """A3C on ``config.num_workers`` workers. Records: ``timeline`` (one ``timeline.A3CUpdate`` per update) and
    ``staleness`` (per update). Ctrl-C returns the partial result; an exception in a worker stops all workers
    and is re-raised here with the worker's traceback, carrying the result so far as ``error.partial``."""
    with torch_threads(1):
        run = Run(config, progress, callback)
        t0 = time.time()
        shared = ParameterServerClient(config) if config.backend == "ray" else SharedModel(config)
        model = build_model(config)              # train's own copy of theta_shared: evaluated, returned
        pool = make_pool(worker, config.num_workers, config.backend, args=(config, shared, t0),
                          **ray_options(config))
        records = run.result.records
        timeline = records.setdefault("timeline", [])

        def act_greedy(obs):
            return model.greedy(obs).numpy()

        def record(item):
            row, finished = item
            timeline.append(row)
            run.add_steps(row.env_steps)
            for episode_return in finished:
                run.add_episode(episode_return)

        interrupted = False
        try:
            with pool:
                records["workers"] = pool.describe()    # where they run (Ray: actor names, nodes)
                while not run.done:
                    item = pool.get(timeout=0.1)
                    while item is not None:     # every report that has arrived, before the eval check: the
                        record(item)            # shared weights already carry those updates, and a backlog
                        item = pool.get(timeout=0)   # (it grows during each evaluation) would count them late
                    if run.eval_due():
                        shared.copy_to(model)
                        run.maybe_evaluate(act_greedy)
        except KeyboardInterrupt:
            interrupted = True
        except WorkerError as error:     # a worker failed: the result so far rides on the error, nothing lost
            error.partial = run.finish(model, interrupted=True)
            raise
        finally:
            records["updates"] = shared.close(model)     # the final theta_shared, copied into model
        for item in pool.drain():           # updates applied while the workers were stopping
            record(item)
        records["workers"] = pool.describe()            # now with the final count of restarts (Ray)
        records["staleness"] = [row.staleness for row in timeline]
        return run.finish(model, interrupted)


def measure_speed(backend, num_workers, env_steps=20_000, seed=0, **env) -> float:
    """Steady-state env steps/s of A3C (acting AND learning) with ``num_workers`` workers on ``backend``;
    ``env`` sets the Config's ``env_id`` and ``env_kwargs`` (default: the Config's, CartPole-v1)."""
    config = Config(backend=backend, num_workers=num_workers, total_steps=env_steps, seed=seed,
                    stop_when_solved=False, eval_every=None, **env)
    return steady_steps_per_second(train(config, progress=False).records["timeline"])
