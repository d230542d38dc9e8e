"""The "ray" backend on a real two-node Ray cluster started here (``ray.cluster_utils.Cluster``): two raylets
on this machine, each a node of its own, 2 logical CPUs each. Workers spread over both nodes.

Covered: results, weights and errors through RayPool; the CPU check that keeps actors from waiting PENDING
for ever; stopping (normal and Ctrl-C) leaves no worker actor; a worker killed mid-run is restarted and the
run goes on without losing an episode; the parameter server (sync and async) against a direct computation;
A3C (parameter server) and IMPALA solving CartPole-v1 on the cluster, Ape-X running there.

Learning budgets, as in test_learning_async.py: at least twice the slowest of 10 runs in a row on a 2-core
machine (figures beside each budget).
"""

import os
import sys
import time

import numpy as np
import pytest
import torch

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed (make test installs it)")
from ray.cluster_utils import Cluster  # noqa: E402

from rlteach import a3c, apex, ddppo, impala  # noqa: E402
from rlteach.ray_backend import RayPool, fit_num_cpus  # noqa: E402
from rlteach.workers import WorkerError, make_pool  # noqa: E402

# Ray workers import functions by module name; this module is not importable on them, so send its
# functions by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

BUDGETS = {
    a3c: 300_000,      # slowest of 10 runs in a row: 20,013 env steps (12 s); 72,024 before the summed loss. With no
                       # clip and one SeedSequence (issue 24): 2,007-30,012 in 5 runs (a loaded machine ended the rest)
    # IMPALA's tail is long: a fresh-clone CI run (issue 18) was unsolved at 300,000 (best mean 437); the next 10
    # runs in a row solved at 14,000-36,000 env steps, but one at 164,000 (23 s). Earlier: 88,000 and 36,000.
    impala: 500_000,
    # DD-PPO (issue 26): 10 runs in a row on this cluster all solved at 8,016 env steps (7.7-8.6 s): its rounds run
    # in lockstep. 2.5x that.
    ddppo: 20_000,
}


@pytest.fixture(scope="module")
def cluster():
    """A head node and one more node, 2 CPUs each, and this process connected to it as the driver."""
    if ray.is_initialized():
        ray.shutdown()
    nodes = start_cluster()
    ray.init(address=nodes.address)
    yield nodes
    ray.shutdown()
    nodes.shutdown()


def start_cluster(attempts=3):
    """Ray gives a starting node a fixed 30 s to register; on a machine busy with other work that can run
    out ("The current node timed out during startup"). Then start the cluster again, up to ``attempts``."""
    for attempt in range(attempts):
        nodes = Cluster()
        try:
            nodes.add_node(num_cpus=2, object_store_memory=150 * 2**20, include_dashboard=False)   # the head
            nodes.add_node(num_cpus=2, object_store_memory=150 * 2**20)
            nodes.wait_for_nodes()
            return nodes
        except Exception:
            nodes.shutdown()
            if attempt == attempts - 1:
                raise


def node_ids():
    return {node["NodeID"] for node in ray.nodes() if node["Alive"]}


# --- workers used below: plain functions, as on the other backends --------------------------------------


def report_node(ctx):
    ctx.put((ctx.index, ray.get_runtime_context().get_node_id()))
    while not ctx.should_stop():
        time.sleep(0.01)


def echo_weights(ctx):
    """Send back the version and the value of the weights each time a newer version shows up."""
    model, version = torch.nn.Linear(1, 1), -1
    while not ctx.should_stop():
        new = ctx.weights(model, version)
        if new != version:
            version = new
            ctx.put((ctx.index, version, float(model.weight.item())))
        time.sleep(0.005)


def fail_at_once(ctx):
    if ctx.index == 1:
        raise RuntimeError("boom from a Ray worker")
    while not ctx.should_stop():
        time.sleep(0.01)


# --- the pool --------------------------------------------------------------------------------------------


def test_pool_spreads_workers_over_both_nodes(cluster):
    assert len(node_ids()) == 2
    pool = make_pool(report_node, 2, backend="ray")
    assert isinstance(pool, RayPool)
    with pool:
        items = sorted(pool.get(timeout=30) for _ in range(2))
        where = pool.describe()
    assert [i for i, _ in items] == [0, 1]
    assert {node for _, node in items} == node_ids()            # one worker on each node
    assert sorted(where["nodes"]) == sorted(node for _, node in items)
    assert where["restarts"] == 0 and where["num_cpus"] == 1.0


def test_published_weights_reach_every_worker(cluster):
    pool = make_pool(echo_weights, 2, backend="ray", weights={"weight": torch.zeros(1, 1),
                                                               "bias": torch.zeros(1)})
    seen = {0: {}, 1: {}}
    with pool:
        for value in (1.0, 2.0, 3.0):
            version = pool.publish({"weight": torch.full((1, 1), value), "bias": torch.zeros(1)})
            deadline = time.monotonic() + 30
            while any(version not in seen[i] for i in seen) and time.monotonic() < deadline:
                item = pool.get(timeout=0.5)
                if item is not None:
                    seen[item[0]][item[1]] = item[2]
            assert all(seen[i].get(version) == value for i in seen), seen
    assert version == 3


def test_worker_error_is_raised_with_its_traceback_and_stops_all(cluster):
    pool = make_pool(fail_at_once, 2, backend="ray")
    with pytest.raises(WorkerError, match="(?s)worker 1.*boom from a Ray worker"):
        with pool:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                pool.get(timeout=0.2)
    assert pool.alive() == 0
    assert_actors_gone(pool)


def assert_actors_gone(pool):
    for worker in pool.workers:
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(worker.ready.remote(), timeout=30)


def wait_for_free_cpus(n, seconds=30):
    """Ray frees a killed actor's CPUs a moment after the kill: wait for them (a leak fails here)."""
    deadline = time.monotonic() + seconds
    while ray.available_resources().get("CPU", 0) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ray.available_resources().get("CPU", 0) == n, ray.available_resources()


def test_cpus_are_shared_out_or_refused_up_front(cluster):
    wait_for_free_cpus(4)                           # the earlier tests' workers have all given theirs back
    assert fit_num_cpus(2) == 1.0                   # 4 free CPUs, at most 1 each
    assert fit_num_cpus(8) == 0.5                   # more workers than CPUs: fractions, none PENDING
    with pytest.raises(ValueError, match="PENDING"):
        fit_num_cpus(3, num_cpus=2)                 # 6 CPUs asked of 4
    with pytest.raises(ValueError, match="num_workers"):
        make_pool(report_node, 0, backend="ray")


def test_a_pool_started_right_after_another_gets_the_cpus_back(cluster):
    """Ray frees a killed actor's CPUs a moment later; the next run in a notebook must not find 0 free."""
    for _ in range(3):
        pool = make_pool(report_node, 2, backend="ray")
        with pool:
            assert pool.get(timeout=30) is not None
        assert pool.describe()["num_cpus"] == 1.0


def test_a_worker_that_fits_no_node_is_an_error_not_a_hang(cluster):
    """3 CPUs fit the cluster's 4 in total, but no single node has 3: the actor would wait for ever."""
    pool = make_pool(report_node, 1, backend="ray", num_cpus=3, start_timeout=3)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="did not all start within 3 s"):
        pool.start()
    assert time.monotonic() - start < 30
    assert_actors_gone(pool)


# --- the algorithms on the cluster -----------------------------------------------------------------------


def test_apex_runs_on_both_nodes(cluster):
    config = apex.Config(backend="ray", seed=0, total_steps=3000, eval_every=None, stop_when_solved=False)
    result = apex.train(config, progress=False)
    assert result.env_steps >= 3000 and result.records["updates"] > 0
    assert set(result.records["workers"]["nodes"]) == node_ids()
    assert {index for index, _, _ in result.records["actor_returns"]} == {0, 1}


def test_ray_actors_find_slow_cartpole_by_id(cluster):
    """rlteach/SlowCartPole-v1 is registered by ``import rlteach``, which every Ray actor of IMPALA does."""
    config = impala.Config(backend="ray", env_id="rlteach/SlowCartPole-v1", env_kwargs={"delay_ms": 0.5}, seed=0,
                           total_steps=1000, eval_every=None)
    result = impala.train(config, progress=False)
    assert result.env_steps >= 1000 and set(result.records["workers"]["nodes"]) == node_ids()


def test_ctrl_c_returns_the_partial_result_and_leaves_no_worker(cluster, sigint_raises_keyboard_interrupt):
    def interrupt(snapshot):
        raise KeyboardInterrupt

    config = impala.Config(backend="ray", seed=0, total_steps=10**6, eval_every=1000)
    result = impala.train(config, progress=False, callback=interrupt)
    assert result.interrupted and 1000 <= result.env_steps < 10**6
    names = set(result.records["workers"]["names"])
    deadline = time.monotonic() + 30
    while names & set(ray.util.list_named_actors()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not names & set(ray.util.list_named_actors())


def test_a_killed_worker_is_restarted_and_no_episode_is_lost(cluster):
    """Kill actor 0's process at the first evaluation (as a crash or a lost node would); Ray restarts it,
    its ``work`` runs again from the top, and the run goes on."""
    at_kill = {}

    def kill_actor_0(snapshot):
        if at_kill:
            return
        at_kill.update(steps=snapshot.env_steps, returns=list(snapshot.episode_returns),
                       unrolls_0=sum(row.who == 0 for row in snapshot.records["timeline"]))
        ray.kill(ray.get_actor(snapshot.records["workers"]["names"][0]), no_restart=False)

    config = impala.Config(backend="ray", seed=0, total_steps=40_000, eval_every=2000, stop_when_solved=False)
    result = impala.train(config, progress=False, callback=kill_actor_0)
    assert result.records["workers"]["restarts"] >= 1
    assert result.env_steps >= 40_000 > at_kill["steps"]                     # the counter kept rising
    assert result.episode_returns[:len(at_kill["returns"])] == at_kill["returns"]   # nothing lost
    assert len(result.episode_returns) > len(at_kill["returns"])
    unrolls_0 = sum(row.who == 0 for row in result.records["timeline"])
    assert unrolls_0 > at_kill["unrolls_0"]                                   # the restarted actor works


@pytest.mark.timeout(120)
def test_a_killed_ddppo_worker_is_an_error_within_seconds(cluster):
    """DD-PPO's Ray actors are not restarted (a new process cannot rejoin a running process group): killing one
    raises WorkerError, promptly, and leaves no actor of the run."""
    killed = {}

    def kill_worker_0(snapshot):
        if not killed:
            killed["t"] = time.monotonic()
            ray.kill(ray.get_actor(snapshot.records["workers"]["names"][0]), no_restart=False)

    config = ddppo.Config(backend="ray", seed=0, total_steps=10**6, eval_every=1000, stop_when_solved=False)
    with pytest.raises(WorkerError, match="worker 0 .ray backend. failed") as error:
        ddppo.train(config, progress=False, callback=kill_worker_0)
    assert time.monotonic() - killed["t"] < config.collective_timeout
    assert error.value.partial.interrupted and error.value.partial.env_steps >= 1000
    names = set(error.value.partial.records["workers"]["names"])
    deadline = time.monotonic() + 30
    while names & set(ray.util.list_named_actors()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not names & set(ray.util.list_named_actors())


@pytest.mark.learning
@pytest.mark.timeout(900)
@pytest.mark.parametrize("module", list(BUDGETS), ids=lambda m: m.__name__.split(".")[-1])
def test_solves_cartpole_on_two_nodes(cluster, module, learning_seed):
    config = module.Config(backend="ray", seed=learning_seed, total_steps=BUDGETS[module])
    result = module.train(config, progress=False)
    assert result.solved, result.summary()
    assert result.evals[-1][2] >= 475.0
    assert set(result.records["workers"]["nodes"]) == node_ids()
    print(result.summary())


# --- the parameter server, checked against a direct computation (no Ray needed) -------------------------


def test_parameter_server_sync_applies_the_mean_once_per_round():
    config = a3c.Config(backend="ray", sync=True, num_workers=3, seed=0)
    server = a3c.ParameterServer(config)       # the class itself: the actor's code, called directly here
    reference = a3c.build_model(config)
    reference.load_state_dict(server.pull()[1])
    optimizer = a3c.make_optimizer(config, list(reference.parameters()))
    rng = np.random.default_rng(0)
    for round_ in range(3):
        grads = [[torch.as_tensor(rng.normal(size=p.shape), dtype=torch.float32) for p in reference.parameters()]
                 for _ in range(3)]
        for worker, g in enumerate(grads):
            assert server.push(g, seen=round_) == 0            # staleness 0: everyone worked on this round
            version, state = server.pull(newer_than=round_)
            assert (version, state is None) == ((round_, True) if worker < 2 else (round_ + 1, False))
        optimizer.step(list(reference.parameters()), [torch.stack(g).mean(0) for g in zip(*grads, strict=True)])
        for name, value in reference.state_dict().items():
            torch.testing.assert_close(state[name], value)


def test_parameter_server_async_applies_each_push_and_counts_staleness():
    config = a3c.Config(backend="ray", num_workers=2, seed=0)
    server = a3c.ParameterServer(config)
    reference = a3c.build_model(config)
    reference.load_state_dict(server.pull()[1])
    optimizer = a3c.make_optimizer(config, list(reference.parameters()))
    grads = [torch.ones_like(p) for p in reference.parameters()]
    assert server.push(grads, seen=0) == 0
    assert server.push(grads, seen=0) == 1          # computed on version 0, applied after one other update
    for _ in range(2):
        optimizer.step(list(reference.parameters()), grads)
    version, state = server.pull()
    assert version == 2
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(state[name], value)


def test_ray_settings_are_checked():
    with pytest.raises(ValueError, match="ray_address"):
        impala.Config(backend="thread", ray_address="auto")
    with pytest.raises(ValueError, match="sync=True needs backend='ray'"):
        a3c.Config(backend="thread", sync=True)
    with pytest.raises(ValueError, match="backend"):
        apex.Config(backend="dask")
