"""DD-PPO: N workers, each with its own envs and its own replica of the network, average their gradients.

Decentralized Distributed PPO (Wijmans et al. 2020, "DD-PPO: Learning Near-Perfect PointGoal Navigators from
2.5 Billion Frames", arXiv 1911.00357)
-------------------------------------------------------------------------------------------------------------
A3C, Ape-X and IMPALA put the weights in one place (shared memory, a learner, a parameter server) and the
actors around it. DD-PPO has no centre. Each of the ``num_workers`` workers repeats PPO (rlteach/ppo.py):

    1. roll out    ``n_steps`` steps of its own ``num_envs`` envs with its own replica pi_theta
    2. compute     pi_theta_old's log-probabilities, GAE and targets on its own rollout (``ppo.rollout_batch``)
    3. update      ``update_epochs`` x ``num_minibatches`` steps; at EVERY step, after its own backward pass,
                   the gradients of all workers are summed by an all-reduce and divided by N
                   (``average_gradients``): each replica applies the same mean gradient g = (1/N) sum_i g_i

All replicas start from the same weights (``broadcast_parameters``: rank 0's, sent to all) and apply the
same g with the same optimizer, so they stay identical, bit for bit, with no parameter server: every worker
holds the whole model. The all-reduce is ``torch.distributed`` over the gloo backend (TCP): a collective
operation that every worker enters, and none leaves until all have; gloo's ring passes each of N pieces of
the gradient around the ring, so each worker sends and receives about 2 (N - 1) / N of the gradient's bytes,
whatever N is. (PyTorch's DistributedDataParallel does the same inside ``backward``, with NCCL on GPUs.)

Waiting for each other: the workers meet in a key-value store every one of them reaches
(``torch.distributed``'s TCPStore, kept by ``train``). A worker that has finished its rollout adds 1 to the
round's key and polls the store until every worker has (``wait_for_all``); only then do they start the
update, whose all-reduces wait for nothing but a few milliseconds of arithmetic. Polling has no timeout, so
a slow worker is waited for as long as its rollout takes; the same store carries the decision to stop, so
all workers stop at the same round.

Preemption: the price of meeting is that the slowest worker sets the pace. The paper ends every worker's
rollout once a share ``preemption_threshold`` of the workers (its 60%) has finished theirs, but not before
``min_rollout_share`` of ``n_steps`` (habitat-lab's 25%): stragglers contribute a shorter rollout instead of
holding everyone. A rolling-out worker reads the round's count after each step. It cannot count itself, so
with 2 workers 60% (2 finished) never cuts anything: 0.5 does. ``slow_worker_ms`` makes the last worker a
straggler, to watch it.

Failure: a collective waits for every worker, and gloo's default timeout is 30 minutes. Here the process
group gets ``collective_timeout`` seconds: a worker that raises, or whose process dies, is a ``WorkerError``
within seconds (the pool sees it at once; a peer caught in an all-reduce with it gives up after the timeout),
and the pool stops the rest. A Ray actor is NOT restarted: a new process cannot rejoin a process group that
has started, so a restart would hang the others.

Where the workers run: processes on this machine (``backend="process"``, the default) or Ray actors on the
nodes of a cluster (``backend="ray"``, ``ray_address`` as elsewhere), the store and the process group set up
from the driver's address. Not threads: a process has ONE default process group.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from datetime import timedelta

import gymnasium as gym
import torch
import torch.distributed as dist

from rlteach import checks, ppo
from rlteach import policy_gradient as a2c
from rlteach.envs import close_vector_env
from rlteach.monitor import Run, TrainResult
from rlteach.nets import torch_threads
from rlteach.workers import WorkerError, make_pool, ray_options, stream_seed

__all__ = ["BACKENDS", "Config", "average_gradients", "broadcast_parameters", "build_model", "train"]

BACKENDS = ("process", "ray")      # each worker holds a process group: one per process, so no threads
build_model = ppo.build_model      # PPO's (A2C's) ActorCritic


@dataclass
class Config(ppo.Config):
    """DD-PPO: PPO's hyperparameters (rlteach.ppo.Config, every default there), per worker, plus the fields
    below. ``num_envs`` and ``n_steps`` are each worker's: a round collects num_workers x num_envs x n_steps
    steps at most. ``lr`` is PPO's: the mean gradient of N workers is as large as one worker's, less noisy."""

    num_workers: int = 2            # workers, each with its own envs and replica, averaging gradients
    backend: str = "process"        # "process" (this machine) or "ray" (the nodes of a Ray cluster)
    ray_address: str | None = None  # backend "ray": None starts Ray here; "auto" or "ray://host:10001" joins a cluster
    preemption_threshold: float = 0.6   # rollouts end once this share of workers has finished (the paper's 0.6;
                                        # with 2 workers it never cuts, 0.5 does); 1.0: never cut
    min_rollout_share: float = 0.25     # ... but not before this share of n_steps (habitat-lab's 0.25)
    collective_timeout: float = 10.0    # seconds an all-reduce waits for a worker before it raises (a worker
                                        # whose rollout is slow is waited for on the store, without a limit)
    slow_worker_ms: float = 0.0         # the last worker's envs take this many ms longer per step: a straggler

    def __post_init__(self):
        if self.device != "cpu":
            raise ValueError(f"device={self.device!r} is not supported by DD-PPO here: gloo all-reduces CPU tensors")
        super().__post_init__()
        checks.check_number("num_workers", self.num_workers, 1, checks.MAX_PARALLEL, integer=True)
        checks.check_choice("backend", self.backend, BACKENDS)
        checks.check_backend(self.backend, self.ray_address)
        checks.check_number("preemption_threshold", self.preemption_threshold, 0, 1, low_open=True)
        checks.check_number("min_rollout_share", self.min_rollout_share, 0, 1, low_open=True)
        checks.check_number("collective_timeout", self.collective_timeout, 0, 3600, low_open=True)
        checks.check_number("slow_worker_ms", self.slow_worker_ms, 0, 1000)
        if self.anneal_lr:
            raise ValueError("anneal_lr=True is not supported by DD-PPO here: its workers keep lr constant")


# ---------------------------------------------------------------------------------------------------------
# The collectives (the same start, the same gradient) and the digest that shows the replicas equal
# ---------------------------------------------------------------------------------------------------------


def broadcast_parameters(model) -> None:
    """Every replica gets rank 0's parameters (the same seed already gave them the same ones; this makes it
    so whatever the seed did)."""
    for p in model.parameters():
        dist.broadcast(p.data, src=0)


def average_gradients(model) -> None:
    """The all-reduce: each parameter's .grad becomes the mean over the workers, (1/N) sum_i g_i.

    All gradients go as ONE flat tensor, one collective per step instead of one per parameter (DDP's
    "buckets" do the same). The sum arrives identical on every worker, so dividing by N keeps them equal."""
    params = list(model.parameters())
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= dist.get_world_size()
    for p, g in zip(params, flat.split([p.numel() for p in params]), strict=True):
        p.grad.copy_(g.view_as(p))


def parameters_digest(model, previous: str = "") -> str:
    """A hash of the parameters' bytes, chained onto ``previous``. A worker chains it before every optimizer
    step (the parameters after the step before) and after a round's last step, so equal digests on every
    worker mean the replicas were bit-identical after every step."""
    h = hashlib.sha1(previous.encode())
    for p in model.parameters():
        h.update(p.detach().numpy().tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------------
# The worker: meet in the store, join the group, then roll out, wait for the others, update, together
# ---------------------------------------------------------------------------------------------------------


class Straggler(gym.vector.VectorWrapper):
    """A vector env whose every step takes ``delay_ms`` longer (sleeping): a deliberately slow worker."""

    def __init__(self, envs, delay_ms):
        super().__init__(envs)
        self.delay = delay_ms / 1000

    def step(self, actions):
        time.sleep(self.delay)
        return super().step(actions)


class Tally:
    """Where ``collect_rollout`` reports a worker's env steps and finished episodes (in place of PPO's ``run``)."""

    def __init__(self):
        self.steps, self.returns = 0, []

    def add_steps(self, n):
        self.steps += n

    def add_episode(self, episode_return):
        self.returns.append(float(episode_return))


def wait_for_all(store, key: str, world: int, ctx, grace: float) -> bool:
    """Poll the store until ``world`` workers have added 1 to ``key``: True. A slow worker is waited for as long
    as it takes (a poll has no timeout). Once the pool asks this worker to stop (the run is over, or a peer
    died), the others get ``grace`` more seconds to arrive; then it gives up: False."""
    asked = None
    while store.add(key, 0) < world:
        if ctx.should_stop():
            asked = asked or time.monotonic()
            if time.monotonic() - asked > grace:
                return False
        time.sleep(0.001)
    return True


def join_group(config: Config, ctx, host: str, port: int):
    """Connect to ``train``'s store; once every worker has (processes start seconds apart), join the process
    group of ``num_workers`` as rank ``ctx.index`` (gloo, with ``collective_timeout``). Returns the store, or
    None if the pool stopped first."""
    timeout = timedelta(seconds=config.collective_timeout)
    store = dist.TCPStore(host, port, is_master=False, timeout=timeout)
    store.add("arrived", 1)
    if not wait_for_all(store, "arrived", config.num_workers, ctx, config.collective_timeout):
        return None
    dist.init_process_group("gloo", store=dist.PrefixStore("group", store), rank=ctx.index,
                            world_size=config.num_workers, timeout=timeout)
    return store


def worker(ctx, config: Config, host: str, port: int):
    """One DD-PPO worker, rank ``ctx.index`` (module docstring). After each round it reports a dict: its env
    steps and finished episodes, the round's rollout length (steps per env), the seconds it spent rolling out,
    waiting for the others, updating and, of that, inside the all-reduces, its parameters' chained digest,
    PPO's diagnostics and, from rank 0, the weights as NumPy arrays (every replica holds the same; a torch
    tensor would travel as a handle to shared memory, which dies with this process). Its last rollout, the
    one the workers stop after, is reported as ``final``: its env steps and episodes only."""
    rank, world = ctx.index, config.num_workers
    torch.set_num_threads(1)
    store = join_group(config, ctx, host, port)
    if store is None:
        return
    base = None
    try:
        torch.manual_seed(stream_seed(config.seed, "weights"))
        model = build_model(config)
        broadcast_parameters(model)
        torch.manual_seed(stream_seed(config.seed, "actions", rank))   # its own actions and minibatches
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, eps=config.adam_eps)
        envs = base = a2c.make_envs(config)
        if rank == world - 1 and config.slow_worker_ms > 0:
            envs = Straggler(base, config.slow_worker_ms)
        state = a2c.reset_state(envs, config, worker=rank)
        min_steps = max(1, math.ceil(config.min_rollout_share * config.n_steps))
        needed = math.ceil(config.preemption_threshold * world - 1e-9)   # finished workers that cut the rest
        can_cut = needed <= world - 1                  # one still rolling out cannot count itself
        track = {"allreduce_seconds": 0.0, "digest": ""}
        round_ = 0

        def reduce_gradients(model):       # called by ppo_update between each backward pass and the clip
            track["digest"] = parameters_digest(model, track["digest"])     # the parameters after the last step
            start = time.perf_counter()
            average_gradients(model)
            track["allreduce_seconds"] += time.perf_counter() - start

        while True:
            key, stop_key = f"finished/{round_}", f"stop/{round_}"

            def cut(t, key=key):           # after step t: the run is over, or enough others have finished
                return ctx.should_stop() or (can_cut and t + 1 >= min_steps and store.add(key, 0) >= needed)

            # 1. roll out (cut short once enough workers have finished)
            tally, start = Tally(), time.perf_counter()
            rollout = a2c.collect_rollout(envs, model, state, config.n_steps, torch.device("cpu"), tally, cut)
            if ctx.should_stop():          # before this worker counts as finished, so every worker sees it
                store.add(stop_key, 1)
            store.add(key, 1)
            rolled = time.perf_counter()
            # wait in the store for every worker's rollout; then stop together if any was asked to
            if not wait_for_all(store, key, world, ctx, config.collective_timeout) or store.add(stop_key, 0) > 0:
                ctx.put({"rank": rank, "round": round_, "final": True, "env_steps": tally.steps,
                         "episodes": tally.returns})
                break
            waited = time.perf_counter()
            # 2-3. PPO's update on its own rollout, every gradient averaged over the workers
            track["allreduce_seconds"] = 0.0
            stats = ppo.ppo_update(model, optimizer, ppo.rollout_batch(model, rollout, config, "cpu"), config,
                                   reduce_gradients)
            track["digest"] = parameters_digest(model, track["digest"])
            ctx.put({"rank": rank, "round": round_, "env_steps": tally.steps, "episodes": tally.returns,
                     "rollout_steps": len(rollout["actions"]), "rollout_seconds": rolled - start,
                     "wait_seconds": waited - rolled, "update_seconds": time.perf_counter() - waited,
                     "allreduce_seconds": track["allreduce_seconds"], "digest": track["digest"], "stats": stats,
                     "state": {k: v.numpy().copy() for k, v in model.state_dict().items()} if rank == 0 else None})
            round_ += 1
    finally:
        if base is not None:
            close_vector_env(base)
        dist.destroy_process_group()


# ---------------------------------------------------------------------------------------------------------
# train: keep the store, start the workers, count what they report, evaluate rank 0's replica, stop
# ---------------------------------------------------------------------------------------------------------


def load_weights(model, state: dict) -> None:
    """Load a worker's weights (NumPy arrays) into ``model``."""
    model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})


def store_host(config: Config) -> str:
    """The address the workers reach ``train``'s store at: this machine, or this node's IP in a Ray cluster."""
    if config.backend == "ray":
        from rlteach.ray_backend import ray_init

        ray_init(config.ray_address)
        import ray

        return ray.util.get_node_ip_address()
    return "127.0.0.1"


def finish(run, model, latest, rounds, interrupted) -> TrainResult:
    """The records of every round all workers reported; the result. Its model holds the weights that solved,
    when the run stopped there (the workers may have finished one more round since), else rank 0's last."""
    stopped_solved = run.result.solved and run.config.stop_when_solved
    if "state" in latest and not stopped_solved:
        load_weights(model, latest["state"])
    records = run.result.records
    complete = [reports for _, reports in sorted(rounds.items()) if all(r is not None for r in reports)]
    for key in ("rollout_steps", "rollout_seconds", "wait_seconds", "allreduce_seconds", "update_seconds"):
        records[key] = [[r[key] for r in reports] for reports in complete]
    records["digests"] = [[r["digest"] for r in reports] for reports in complete]
    records["losses"] = [[reports[0]["run_steps"]] + [round(x, 5) for x in reports[0]["stats"]["losses"]]
                         for reports in complete]
    for key in ("clip_fraction", "approx_kl"):
        records[key] = [reports[0]["stats"][key] for reports in complete]
    return run.finish(model, interrupted)


def train(config: Config, *, progress=True, callback=None) -> TrainResult:
    """DD-PPO on ``config.num_workers`` workers. Records, one entry per round (all workers' reports of it):
    ``rollout_steps`` (steps per env of each worker: n_steps, or fewer where preempted), each worker's
    ``rollout_seconds``, ``wait_seconds`` (for the others' rollouts) and ``update_seconds`` (of which
    ``allreduce_seconds`` inside the all-reduces), ``digests`` (each worker's chained parameter digest: equal),
    and rank 0's ``losses`` = [env_steps, total, policy, value, entropy], ``clip_fraction``, ``approx_kl``.
    Ctrl-C returns the partial result; a worker's failure is re-raised as WorkerError carrying the result so
    far as ``error.partial``."""
    with torch_threads(1):
        run = Run(config, progress, callback)
        host = store_host(config)
        store = dist.TCPStore(host, 0, is_master=True, wait_for_workers=False,
                              timeout=timedelta(seconds=config.collective_timeout))
        torch.manual_seed(stream_seed(config.seed, "weights"))
        model = build_model(config)                   # rank 0's replica, copied in: evaluated, returned
        ray_kwargs = {**ray_options(config), "max_restarts": 0} if config.backend == "ray" else {}
        pool = make_pool(worker, config.num_workers, config.backend, args=(config, host, store.port), **ray_kwargs)
        records = run.result.records
        rounds: dict[int, list] = {}
        latest = {}

        def record(item):
            if not item.get("final"):      # the last rollout of a run only counts its steps and episodes
                rounds.setdefault(item["round"], [None] * config.num_workers)[item["rank"]] = item
            run.add_steps(item["env_steps"])
            for episode_return in item["episodes"]:
                run.add_episode(episode_return)
            item["run_steps"] = run.result.env_steps      # the run's env steps when this report came in
            if item.get("state") is not None:
                latest["state"] = item["state"]

        def act_greedy(obs):
            return model.greedy(obs).numpy()

        interrupted = False
        try:
            with pool:
                records["workers"] = pool.describe()
                while not run.done:
                    item = pool.get(timeout=0.1)
                    while item is not None:           # every report that has arrived, before the eval check
                        record(item)
                        item = pool.get(timeout=0)
                    if run.eval_due() and "state" in latest:
                        load_weights(model, latest["state"])
                        run.maybe_evaluate(act_greedy)
        except KeyboardInterrupt:
            interrupted = True
        except WorkerError as error:      # the reports that came before the failure count; nothing is lost
            for item in pool.drain():
                record(item)
            error.partial = finish(run, model, latest, rounds, interrupted=True)
            raise
        finally:
            store = None                  # the driver's store stops listening (a kept traceback holds no port)
        for item in pool.drain():
            record(item)
        records["workers"] = pool.describe()
        return finish(run, model, latest, rounds, interrupted)
