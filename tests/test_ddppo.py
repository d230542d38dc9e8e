"""DD-PPO: the all-reduced gradient against the workers' gradients computed apart, replicas bit-identical after
every step, the preemption threshold cutting a slowed worker's rollout, the Config's checks, save/load, and
learning on processes (on the 2-node Ray cluster: tests/test_ray.py; a killed worker: tests/test_faults.py)."""

import datetime

import pytest
import torch
import torch.distributed as dist
from ddppo_probe import probe_gradient
from procs import live_children
from saved_runs import assert_loaded_equals

from rlteach import ddppo, monitor
from rlteach.nets import torch_threads
from rlteach.workers import make_pool

SHORT = {"eval_every": None, "stop_when_solved": False}


def test_the_all_reduced_gradient_is_the_mean_of_the_workers_gradients_computed_apart():
    from ddppo_probe import allreduce_probe

    config = ddppo.Config(num_workers=3)
    store = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False,
                          timeout=datetime.timedelta(seconds=20))
    reports = {}
    with make_pool(allreduce_probe, 3, "process", args=(config, "127.0.0.1", store.port)) as pool:
        while len(reports) < 3:
            item = pool.get(timeout=30)
            assert item is not None, "no report from the workers within 30 s"
            reports[item[0]] = item[1:]
    with torch_threads(1):                                           # one thread, as in the workers: same sums
        torch.manual_seed(0)
        model = ddppo.build_model(config)
        apart = [probe_gradient(model, rank) for rank in range(3)]   # the same three gradients, in this process
    for rank, (own, averaged) in reports.items():
        for g_own, g_apart in zip(own, apart[rank], strict=True):
            torch.testing.assert_close(g_own, g_apart, rtol=0, atol=0)        # each worker's own: as computed here
        for g_avg, *gs in zip(averaged, *apart, strict=True):
            torch.testing.assert_close(g_avg, torch.stack(gs).mean(0), rtol=1e-6, atol=1e-7)
        for g_avg, g_avg0 in zip(averaged, reports[0][1], strict=True):
            assert torch.equal(g_avg, g_avg0)                                   # and the same bits on every worker
    assert any(not torch.equal(a, b) for a, b in zip(apart[0], apart[1], strict=True))   # the workers' data differ
    assert live_children() == []


@pytest.fixture(scope="module")
def short_run():
    """One short DD-PPO run on 2 processes, with evaluations, for the tests that only read it."""
    return ddppo.train(ddppo.Config(seed=1, total_steps=4000, eval_every=1000, stop_when_solved=False),
                       progress=False)


def test_replicas_are_bit_identical_after_every_step(short_run):
    result = short_run
    digests = result.records["digests"]
    assert len(digests) >= 3
    assert all(len(set(round_)) == 1 for round_ in digests), digests     # chained over every optimizer step
    waits = result.records["wait_seconds"]
    assert len(waits) == len(digests) and min(min(w) for w in waits) >= 0
    assert len({round_[0] for round_ in digests}) == len(digests)          # and the weights did change
    # the digest sees a change in the last bit of one weight
    model = ddppo.build_model(result.config)
    model.load_state_dict(result.model.state_dict())
    before = ddppo.parameters_digest(model)
    with torch.no_grad():
        p = next(model.parameters())
        p.view(-1)[0] = torch.nextafter(p.view(-1)[0], torch.tensor(float("inf")))
    assert ddppo.parameters_digest(model) != before


def test_the_preemption_threshold_cuts_a_slowed_workers_rollout():
    """Worker 1 sleeps 4 ms per step, so worker 0 finishes its 64 steps first. With the threshold at 0.5 one
    finished worker of two is enough: worker 1 stops at its minimum, 25% of n_steps. With the paper's 0.6
    (2 finished needed, and a worker still rolling out cannot count itself) nothing is ever cut."""
    common = dict(seed=0, total_steps=2000, n_steps=64, slow_worker_ms=4.0, **SHORT)
    cut = ddppo.train(ddppo.Config(preemption_threshold=0.5, **common), progress=False).records["rollout_steps"]
    assert all(fast == 64 for fast, _ in cut), cut
    assert all(16 <= slow < 64 for _, slow in cut), cut
    assert sum(slow == 16 for _, slow in cut) >= len(cut) // 2, cut        # mostly at the minimum, 25% of 64
    kept = ddppo.train(ddppo.Config(**common), progress=False).records["rollout_steps"]
    assert all(steps == [64, 64] for steps in kept), kept


@pytest.mark.parametrize("fields, message", [
    ({"backend": "thread"}, "backend"),
    ({"device": "cuda"}, "gloo all-reduces CPU tensors"),
    ({"preemption_threshold": 0.0}, "preemption_threshold"),
    ({"min_rollout_share": 1.5}, "min_rollout_share"),
    ({"collective_timeout": 0}, "collective_timeout"),
    ({"num_workers": 0}, "num_workers"),
    ({"clip_eps": 0}, "clip_eps"),                                   # PPO's own checks still run
    ({"anneal_lr": True}, "keep lr constant"),
])
def test_config_refuses_bad_settings(fields, message):
    with pytest.raises(ValueError, match=message):
        ddppo.Config(**fields)


def test_a_saved_run_loads_back(short_run, tmp_path):
    result = short_run
    loaded = monitor.load(result.save(tmp_path / "run"))
    assert isinstance(loaded.config, ddppo.Config)
    assert_loaded_equals(loaded, result)


# 10 runs in a row (seed 0, 2 processes, a 2-core machine): every one solved at 8,016 env steps (4.8-10.9 s;
# without preemption the rounds run in lockstep, so the steps repeat). The budget is 2.5x that.
DDPPO_STEP_BUDGET = 20_000


@pytest.mark.learning
@pytest.mark.timeout(300)
def test_ddppo_solves_cartpole_on_processes(learning_seed):
    result = ddppo.train(ddppo.Config(seed=learning_seed, total_steps=DDPPO_STEP_BUDGET), progress=False)
    assert result.solved, result.summary()
    assert monitor.evaluate(lambda o: result.model.greedy(o).numpy(), "CartPole-v1", 5, seed_base=77) >= 400
    assert all(len(set(round_)) == 1 for round_ in result.records["digests"])
    assert live_children() == []
