"""SEED RL: actors only step environments; ONE inference server picks every action, in batches.

Scalable, Efficient Deep-RL (Espeholt et al. 2020, "SEED RL: Scalable and Efficient Deep-RL with Accelerated
Central Inference", arXiv 1910.06591)
-------------------------------------------------------------------------------------------------------------
In IMPALA (rlteach/impala.py) every actor holds a copy of the policy, runs its own forward pass per step and
sends whole unrolls. SEED moves the network out of the actors:

    actor i:   obs of its ``envs_per_actor`` envs -> the server; waits; the actions <- the server; steps the
               envs; the next request carries the step's rewards, terminated, truncated (and final obs)
    server:    takes EVERY request that is waiting (the actors that are waiting right now), stacks their
               observations, runs ONE forward pass of the learner's own network, samples the actions, sends
               each actor its part. It also keeps each actor's trajectory; once one holds ``unroll_length``
               steps, that unroll goes to the learner
    learner:   ``batch_size`` unrolls -> IMPALA's loss with V-trace (``impala.learner_loss``) -> Adam step

Why: a forward pass of a small network costs about the same for 1 observation as for 32. With N actors
each paying it per step, N forwards; the server pays one per batch, whose size is how many actors were
waiting. On threads there is a second reason: torch's per-call dispatch runs under Python's GIL, so 8 IMPALA
actor threads take turns doing their forwards; SEED's actor threads spend their time in pipe I/O, which
releases the GIL, and in ``env.step``, which releases it too when the env waits (a sleeping simulator; not a
step computed in Python). The price is a round trip per step (``round_trip_ms`` in the records): it is paid
while the env is not stepping, so central inference wins when many actors wait at once and the forward is
expensive, and loses when one actor's round trip is long next to its env step.

The policy the actors act with is always the learner's latest (no weights are sent anywhere). Still, the
learner updates while an unroll is being collected and while it waits in the queue, so an unroll's first
steps come from older weights: the lag is small, not 0, and V-trace corrects it. The server and the learner
share the network: a lock keeps the server's forward and the optimizer's step apart, and the update count
(the version each step is stamped with) changes only under it.

Each actor talks to the server over one duplex ``multiprocessing`` pipe, on both backends (``"thread"``,
the default, and ``"process"``); the server waits on all pipes at once (``multiprocessing.connection.wait``).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from multiprocessing import connection

import gymnasium as gym
import numpy as np
import torch
import torch.multiprocessing as tmp

from rlteach import checks, impala
from rlteach.envs import env_dims, make_env
from rlteach.monitor import Run, TrainResult
from rlteach.nets import torch_threads
from rlteach.workers import WorkerError, make_pool, stream_seed

__all__ = ["BACKENDS", "Config", "InferenceServer", "actor", "build_model", "train"]

BACKENDS = ("thread", "process")   # actors on this machine: the server answers them over pipes
build_model = impala.build_model   # IMPALA's ActorCritic


@dataclass
class Config(impala.Config):
    """SEED RL: IMPALA's hyperparameters (rlteach.impala.Config, every default there), with the learner's
    V-trace, and these differences. ``num_actors`` actors each step ``envs_per_actor`` envs and hold no
    network; ``backend`` is "thread" (default) or "process". ``actor_epsilon`` mixes the server's sampling
    with uniform. Not here: ``unrolls_per_weight_pull`` (actors hold no weights), IMPALA's replay, and a GPU
    (the server samples on the CPU, as ``impala.sample_actions`` does)."""

    def __post_init__(self):
        if self.device != "cpu":
            raise ValueError(f"device={self.device!r} is not supported by SEED RL here: its server samples on the "
                             "CPU (impala.sample_actions); use device='cpu'")
        super().__post_init__()
        checks.check_choice("backend", self.backend, BACKENDS)
        if self.unrolls_per_weight_pull != 1:
            raise ValueError(f"unrolls_per_weight_pull={self.unrolls_per_weight_pull!r} means nothing in SEED RL: "
                             "its actors hold no weights (the server always acts with the learner's)")
        if self.replay_fraction != 0:
            raise ValueError(f"replay_fraction={self.replay_fraction!r}: SEED RL here has no replay (use impala)")


# ---------------------------------------------------------------------------------------------------------
# The message: one flat float32 array per step, sent as raw bytes (no pickling on either side)
# ---------------------------------------------------------------------------------------------------------


def pack(obs, previous) -> bytes:
    """An actor's request: its observations [E, D] and its previous step (rewards, terminated, truncated,
    final_obs [E, D]), or None for its first request, as one float32 array:
    [obs (E*D) | rewards (E) | terminated (E) | truncated (E) | final_obs (E*D) | has_previous (1)]."""
    has_previous = previous is not None
    if not has_previous:
        e = len(obs)
        previous = (np.zeros(e), np.zeros(e), np.zeros(e), np.zeros_like(obs))
    parts = [obs.ravel(), *[np.asarray(x, np.float32).ravel() for x in previous], [float(has_previous)]]
    return np.concatenate(parts, dtype=np.float32).tobytes()


def unpack(message: bytes, envs: int, obs_shape) -> tuple:
    """``pack``'s inverse: (obs [E, D], the previous step's tuple or None)."""
    flat = np.frombuffer(message, np.float32)
    d = int(np.prod(obs_shape))
    obs = flat[:envs * d].reshape(envs, *obs_shape)
    rest = flat[envs * d:]
    if rest[-1] == 0:
        return obs, None
    rewards, terminated, truncated = rest[:envs], rest[envs:2 * envs] > 0, rest[2 * envs:3 * envs] > 0
    return obs, (rewards, terminated, truncated, rest[3 * envs:3 * envs + envs * d].reshape(envs, *obs_shape))


# ---------------------------------------------------------------------------------------------------------
# The actor: step the envs, ask the server for actions (runs on a thread or in a process)
# ---------------------------------------------------------------------------------------------------------


def actor(ctx, config: Config, pipes):
    """One SEED actor: no network. Sends ``pack(obs, previous step)`` through its pipe, ``pipes[ctx.index]``,
    and waits for the actions (int64 bytes). Every ``report_every`` steps it reports (its index, the round
    trips' seconds summed, how many, the seconds spent stepping the envs) through ``ctx.put``. When the run
    stops after it stepped, it sends that last step's outcome unanswered, so that ``train`` counts it."""
    envs = gym.vector.SyncVectorEnv([lambda: make_env(config.env_id, config.env_kwargs)] * config.envs_per_actor,
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = envs.reset(seed=stream_seed(config.seed, "env", ctx.index))     # env k gets that seed + k
    pipe, previous, report_every = pipes[ctx.index], None, 100
    if config.backend == "process":       # this process's copies of the other actors' ends: closed, so that an
        for other in pipes[:ctx.index] + pipes[ctx.index + 1:]:   # actor's death closes its pipe (the server
            other.close()                                         # then reads end-of-file, never waits)
    waited = stepped = 0.0
    steps = 0
    try:
        while True:
            if ctx.should_stop():
                if previous is not None:          # the last step's outcome: nobody will answer it
                    pipe.send_bytes(pack(obs, previous))
                return
            start = time.perf_counter()
            pipe.send_bytes(pack(obs, previous))
            while not pipe.poll(0.05):                    # the server answers; or the run is over (what was
                if ctx.should_stop():                     # sent is in the pipe: train reads it)
                    return
            actions = np.frombuffer(pipe.recv_bytes(), np.int64)
            answered = time.perf_counter()
            next_obs, rewards, terminated, truncated, info = envs.step(actions)
            final_obs = np.zeros_like(obs)                # the real last observation where an episode ended
            for i in np.flatnonzero(terminated | truncated):
                final_obs[i] = info["final_obs"][i]
            previous, obs = (rewards, terminated, truncated, final_obs), next_obs
            waited, stepped, steps = waited + answered - start, stepped + time.perf_counter() - answered, steps + 1
            if steps % report_every == 0:
                ctx.put((ctx.index, waited, report_every, stepped))
                waited = stepped = 0.0
    finally:
        envs.close()


# ---------------------------------------------------------------------------------------------------------
# The inference server: batch what is waiting, one forward, answer; keep the trajectories
# ---------------------------------------------------------------------------------------------------------


class InferenceServer:
    """Answers the actors' requests in batches with ``model`` and turns their steps into IMPALA unrolls.

    ``serve_once(timeout)`` waits up to ``timeout`` s for requests, takes all that are waiting, answers them
    with ONE call of ``impala.sample_actions`` (the call every IMPALA actor makes for itself) and returns how
    many actors that batch held (0 if none came). Finished unrolls go to ``unrolls`` (a queue; when it is
    full the server waits, and so do the actors: back-pressure), until ``stop`` is set. The batch sizes are
    counted in ``batch_counts`` (index k: forwards that served k actors)."""

    def __init__(self, config: Config, model, lock, pipes, unrolls, run, version, stop):
        self.config, self.model, self.lock, self.pipes, self.unrolls = config, model, lock, pipes, unrolls
        self.run, self.version, self.stop = run, version, stop   # version(): the learner's update count
        self.obs_shape = (env_dims(config.env_id, config.env_kwargs)[0],)     # flat Box observations
        self.generator = torch.Generator().manual_seed(stream_seed(config.seed, "actions"))
        self.batch_counts = [0] * (config.num_actors + 1)
        t, e = config.unroll_length, config.envs_per_actor
        shapes = {"obs": (t, e, *self.obs_shape), "actions": (t, e), "behaviour_log_probs": (t, e),
                  "rewards": (t, e), "terminated": (t, e), "truncated": (t, e), "final_obs": (t, e, *self.obs_shape)}
        dtypes = {"actions": np.int64, "terminated": bool, "truncated": bool}
        self.trajectories = [{k: np.zeros(shape, dtypes.get(k, np.float32)) for k, shape in shapes.items()}
                             for _ in pipes]
        self.filled = [0] * len(pipes)               # per actor: steps of its unroll complete so far
        self.started = [0] * len(pipes)              # per actor: the version when its unroll began
        self.episode_return = np.zeros((len(pipes), e))

    def complete_step(self, i, previous, next_obs) -> int:
        """Actor i's last step came back: file its outcome; a full trajectory becomes an unroll. Returns the
        env steps it held."""
        rewards, terminated, truncated, final_obs = previous
        trajectory, t = self.trajectories[i], self.filled[i]
        trajectory["rewards"][t], trajectory["terminated"][t] = rewards, terminated
        trajectory["truncated"][t], trajectory["final_obs"][t] = truncated, final_obs
        self.episode_return[i] += rewards
        for env in np.flatnonzero(terminated | truncated):
            self.run.add_episode(self.episode_return[i, env])
            self.episode_return[i, env] = 0.0
        self.filled[i] = t + 1
        if self.filled[i] == self.config.unroll_length:
            self.filled[i] = 0
            unroll = {k: v.copy() for k, v in trajectory.items()}
            unroll.update(last_obs=next_obs.copy(), version=self.started[i], actor=i)
            while not self.stop.is_set():
                try:
                    self.unrolls.put(unroll, timeout=0.05)
                    break
                except queue.Full:
                    continue
        return len(rewards)

    def file_leftovers(self) -> None:
        """Once the server and the actors have stopped: file the steps still in the pipes (an actor's last,
        unanswered message), so that no env step or episode is lost. Nothing is answered."""
        for i, pipe in enumerate(self.pipes):
            while pipe.poll():
                try:
                    obs, previous = unpack(pipe.recv_bytes(), self.config.envs_per_actor, self.obs_shape)
                except (EOFError, OSError):
                    break
                if previous is not None:
                    self.run.add_steps(self.complete_step(i, previous, obs))

    def serve_once(self, timeout=0.05) -> int:
        ready = connection.wait(self.pipes, timeout)
        if not ready:
            return 0
        who = [self.pipes.index(p) for p in ready]
        requests = [unpack(p.recv_bytes(), self.config.envs_per_actor, self.obs_shape) for p in ready]
        steps = 0
        for i, (obs, previous) in zip(who, requests, strict=True):
            if previous is not None:
                steps += self.complete_step(i, previous, obs)
        self.run.add_steps(steps)
        obs = np.concatenate([r[0] for r in requests])                    # [actors * envs_per_actor, D]
        with self.lock:                                                     # not during an optimizer step
            actions, log_mu = impala.sample_actions(self.model, obs, self.generator, self.config.actor_epsilon)
            version = self.version()                                        # of the weights that chose them
        e = self.config.envs_per_actor
        for k, (i, p) in enumerate(zip(who, ready, strict=True)):
            part = slice(k * e, (k + 1) * e)
            p.send_bytes(actions[part].astype(np.int64).tobytes())
            trajectory, t = self.trajectories[i], self.filled[i]
            if t == 0:
                self.started[i] = version
            trajectory["obs"][t], trajectory["actions"][t], trajectory["behaviour_log_probs"][t] = \
                requests[k][0], actions[part], log_mu[part]
        self.batch_counts[len(ready)] += 1
        return len(ready)


# ---------------------------------------------------------------------------------------------------------
# train: actors step, the server (a thread of this process) answers, the learner (this thread) learns
# ---------------------------------------------------------------------------------------------------------


def train(config: Config, *, progress=True, callback=None) -> TrainResult:
    """SEED RL with ``config.num_actors`` actors. Records: ``batch_counts`` (index k: the server's forwards
    that served k actors at once), ``round_trip_ms`` (per actor report: the mean time from sending its
    observations to holding its actions), ``env_step_ms`` (the same reports: the mean time of one vector env
    step), ``policy_lag`` (per unroll used), ``rho_mean`` (mean pi/mu per update), ``updates``. Ctrl-C
    returns the partial result; an actor's exception (or the server's) is re-raised, carrying the result so
    far as ``error.partial``."""
    with torch_threads(1):
        run = Run(config, progress, callback)
        torch.manual_seed(stream_seed(config.seed, "weights"))
        model = build_model(config).to(config.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, foreach=True)
        records = run.result.records
        records.update(policy_lag=[], rho_mean=[], round_trip_ms=[], env_step_ms=[], updates=0)
        mp = tmp.get_context("spawn") if config.backend == "process" else None
        ends = [(mp or tmp).Pipe(duplex=True) for _ in range(config.num_actors)]
        server_ends, actor_ends = [a for a, _ in ends], [b for _, b in ends]
        pool = make_pool(actor, config.num_actors, config.backend, args=(config, actor_ends))
        lock, unrolls, stop, failed = threading.Lock(), queue.Queue(config.max_queue), threading.Event(), []
        version = [0]
        server = InferenceServer(config, model, lock, server_ends, unrolls, run, lambda: version[0], stop)

        def serve():
            try:
                while not stop.is_set():
                    server.serve_once(0.05)
            except BaseException as exc:  # noqa: BLE001 - re-raised in train's thread
                failed.append(exc)

        def learn(batch):
            loss, rhos = impala.learner_loss(model, impala.stack_unrolls(batch, config.device), config)
            optimizer.zero_grad()
            loss.total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            with lock:                               # the server never sees half-updated weights
                optimizer.step()
                version[0] += 1
            records["policy_lag"] += [version[0] - 1 - u["version"] for u in batch]
            records["rho_mean"].append(float(rhos.mean()))

        def take_reports():
            item = pool.get(timeout=0)
            while item is not None:
                _, waited, n, stepped = item
                records["round_trip_ms"].append(1000 * waited / n)
                records["env_step_ms"].append(1000 * stepped / n)
                item = pool.get(timeout=0)

        def act_greedy(obs):
            return model.greedy(obs).cpu().numpy()

        def finish(interrupted):
            records["batch_counts"] = server.batch_counts
            records["updates"] = version[0]
            return run.finish(model, interrupted)

        thread = threading.Thread(target=serve, name="rlteach-seed-server", daemon=True)
        interrupted, batch = False, []
        try:
            with pool:
                if config.backend == "process":      # the actors hold their ends now: drop this process's copies
                    for end in actor_ends:
                        end.close()
                thread.start()
                while not run.done:
                    take_reports()                   # raises first if an actor failed (the cause, usually)
                    if failed:
                        raise WorkerError(f"the inference server failed: {failed[0]!r}")
                    try:
                        batch.append(unrolls.get(timeout=0.05))
                    except queue.Empty:
                        continue
                    if len(batch) == config.batch_size:
                        learn(batch)
                        batch = []
                    run.maybe_evaluate(act_greedy)
                stop.set()
                thread.join(timeout=5.0)
        except KeyboardInterrupt:
            interrupted = True
        except WorkerError as error:
            error.partial = finish(interrupted=True)
            raise
        finally:
            stop.set()
            if thread.is_alive():
                thread.join(timeout=5.0)             # it checks stop at least every 0.05 s
            if not thread.is_alive():                # the steps the actors took after the server stopped
                server.file_leftovers()
            for end in server_ends + actor_ends:
                end.close()
        return finish(interrupted)
