"""A3C: the shared optimizer's formula and shared state, asynchrony (staleness, overlap)
(failures and Ctrl-C: test_stopping.py; learning: test_learning_async.py)."""

import contextlib
import threading
import time

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.multiprocessing as tmp
from procs import live_children
from rng_noise import global_generator_noise
from seed_spy import spy_on_env_seeds

from rlteach import a3c, monitor
from rlteach.timeline import overlap_seconds
from rlteach.workers import InProcessContext, stream_seed

BACKENDS = ["thread", "process"]


# --- the shared optimizers -------------------------------------------------------------------------------


def test_shared_rmsprop_step_matches_the_formula():
    torch.manual_seed(0)
    theta = [torch.randn(3, 2), torch.randn(2)]
    before = [t.clone() for t in theta]
    grads = [torch.randn(3, 2), torch.randn(2)]
    opt = a3c.SharedRMSprop(theta, lr=0.1, decay=0.9, eps=0.01)
    v0 = [torch.rand_like(t) for t in theta]
    for v, init in zip(opt.v, v0, strict=True):
        v.copy_(init)
    opt.step(theta, grads)
    for t, t0, g, v_init, v in zip(theta, before, grads, v0, opt.v, strict=True):
        v_expected = 0.9 * v_init + 0.1 * g**2                       # v <- decay v + (1 - decay) g^2
        torch.testing.assert_close(v, v_expected)
        torch.testing.assert_close(t, t0 - 0.1 * g / torch.sqrt(v_expected + 0.01))    # eps inside the root
    assert all(v.is_shared() for v in opt.v) and int(opt.steps) == 1


def test_shared_adam_first_step_moves_each_weight_by_about_lr():
    theta = [torch.zeros(4)]
    opt = a3c.SharedAdam(theta, lr=0.01)
    opt.step(theta, [torch.tensor([1.0, -2.0, 0.5, 3.0])])
    torch.testing.assert_close(theta[0], torch.tensor([-0.01, 0.01, -0.01, -0.01]), atol=1e-6, rtol=0)


def _step_in_child(opt, theta, grad):
    opt.step(theta, [grad])


def test_one_set_of_statistics_is_shared_by_threads_and_processes():
    theta = [torch.zeros(3).share_memory_()]
    opt = a3c.SharedRMSprop(theta, lr=0.1, decay=0.5, eps=1e-8)
    grad = torch.ones(3)
    t = threading.Thread(target=_step_in_child, args=(opt, theta, grad))
    t.start()
    t.join()
    p = tmp.get_context("spawn").Process(target=_step_in_child, args=(opt, theta, grad))
    p.start()
    p.join(timeout=60)
    assert p.exitcode == 0
    # two steps by two different workers on ONE g: 0 -> 0.5 -> 0.75
    torch.testing.assert_close(opt.v[0], torch.full((3,), 0.75))
    assert int(opt.steps) == 2
    expected = -0.1 / np.sqrt(0.5 + 1e-8) - 0.1 / np.sqrt(0.75 + 1e-8)
    torch.testing.assert_close(theta[0], torch.full((3,), expected, dtype=torch.float32))


# --- the loss: summed over the rollout, as Algorithm S3 accumulates it ---------------------------------------


def rollout(length, end):
    """A CartPole rollout of ``length`` steps with random actions; ``end``: "terminated" (the pole fell, found
    by playing until it does), "truncated" (a time limit at the last step) or "cut" (t_max reached)."""
    env = gym.make("CartPole-v1")
    for seed in range(1000):
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        batch = {"obs": [], "actions": [], "rewards": [], "terminated": [], "truncated": []}
        for t in range(length):
            action = int(rng.integers(2))
            next_obs, reward, terminated, _, _ = env.step(action)
            last = t == length - 1
            for key, value in (("obs", obs), ("actions", action), ("rewards", reward),
                               ("terminated", terminated), ("truncated", end == "truncated" and last)):
                batch[key].append(value)
            obs = next_obs
            if terminated:
                break
        if len(batch["rewards"]) == length and batch["terminated"][-1] == (end == "terminated"):
            return batch, next_obs
    raise AssertionError("no such rollout")


@pytest.mark.parametrize("length, end", [(1, "cut"), (7, "cut"), (50, "cut"), (3, "truncated"),
                                         (12, "terminated"), (31, "terminated")])
def test_one_update_is_the_sum_of_the_per_step_gradients(length, end):
    """Each step's gradient counts once, whatever the rollout's length: the gradient of one update equals the
    sum over steps of -A_t grad log pi(a_t|s_t) + c_v grad (G_t - V(s_t))^2 - c_e grad H_t, with G_t from a
    literal loop (bootstrapped with V(next obs) unless terminated)."""
    config = a3c.Config(t_max=50, value_coef=0.5, entropy_coef=0.01)
    torch.manual_seed(length)
    local = a3c.build_model(config)
    batch, next_obs = rollout(length, end)
    grads = a3c.rollout_gradients(local, batch, next_obs, config)

    params = list(local.parameters())
    with torch.no_grad():
        R = 0.0 if batch["terminated"][-1] else local(torch.as_tensor(next_obs, dtype=torch.float32))[1].item()
    targets = []
    for r in reversed(batch["rewards"]):
        R = r + config.gamma * R
        targets.insert(0, R)
    expected = [torch.zeros_like(p) for p in params]
    for t in range(length):
        logits, value = local(torch.as_tensor(batch["obs"][t], dtype=torch.float32))
        dist = torch.distributions.Categorical(logits=logits)
        advantage = targets[t] - value.item()
        loss_t = (-advantage * dist.log_prob(torch.tensor(batch["actions"][t]))
                  + config.value_coef * (targets[t] - value) ** 2 - config.entropy_coef * dist.entropy())
        for e, g in zip(expected, torch.autograd.grad(loss_t, params), strict=True):
            e += g
    for g, e in zip(grads, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-5)


class Frozen:                                                # theta_shared that never changes
    def __init__(self, model):
        self.model = model

    def copy_to(self, local, should_stop=None):
        local.load_state_dict(self.model.state_dict())
        return 0

    def apply(self, grads, seen):
        return 0


def test_a_worker_samples_from_its_own_generator_whatever_other_threads_do(monkeypatch):
    """On threads every worker shares torch's global generator; a worker's actions must still depend only on
    its seed: the same with another thread reseeding the global generator all the time, different for
    another worker index."""
    config = a3c.Config(t_max=5)
    torch.manual_seed(0)
    frozen = Frozen(a3c.build_model(config))
    actions = []
    original = a3c.NumpyPolicy.sample

    def spy(self, obs):
        action = original(self, obs)
        actions.append(action)
        return action

    def run_worker(index, noisy):
        actions.clear()
        with global_generator_noise() if noisy else contextlib.nullcontext():
            a3c.worker(InProcessContext(index=index, stop_after=20), config, frozen, t0=0.0)
        return list(actions)

    monkeypatch.setattr(a3c.NumpyPolicy, "sample", spy)
    quiet, noisy, other = run_worker(0, False), run_worker(0, True), run_worker(1, False)
    assert quiet == noisy
    assert quiet != other[:len(quiet)]


def test_a_workers_env_and_sampler_get_seeds_of_their_own(monkeypatch):
    """A worker's env and its sampler used to get the same seed s, so the start state fixed the first actions
    of its first episode. Now each use of each worker has its own stream (``workers.stream_seed``)."""
    config = a3c.Config(t_max=5)
    frozen = Frozen(a3c.build_model(config))
    seeds = []
    spy_on_env_seeds(monkeypatch, a3c, seeds)

    class RecordingPolicy(a3c.NumpyPolicy):
        def __init__(self, model, seed):
            seeds.append(("actions", seed))
            super().__init__(model, seed)

    monkeypatch.setattr(a3c, "NumpyPolicy", RecordingPolicy)
    per_worker = []
    for index in (0, 1):
        seeds.clear()
        a3c.worker(InProcessContext(index=index, stop_after=1), config, frozen, t0=0.0)
        per_worker.append(dict(seeds))
        assert set(seeds) == {("env", stream_seed(0, "env", index)), ("actions", stream_seed(0, "actions", index))}
    values = [seed for worker in per_worker for seed in worker.values()]
    assert len(set(values)) == 4, per_worker


# --- asynchrony -------------------------------------------------------------------------------------------


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", BACKENDS)
def test_two_workers_overlap_in_time_and_apply_stale_gradients(backend):
    # 20,000 env steps: on a loaded machine one spawned process can start seconds after the other, and with
    # 3,000 the first worker once took every step before the second applied its first update (CI)
    result = a3c.train(a3c.Config(backend=backend, num_workers=2, total_steps=20_000, stop_when_solved=False,
                                  eval_every=None), progress=False)
    timeline = result.records["timeline"]
    assert {row.who for row in timeline} == {0, 1}
    assert all(row.start <= row.t_rolled_out <= row.t_computed <= row.end for row in timeline)
    assert overlap_seconds(timeline) > 0                               # both inside a cycle at once
    assert max(result.records["staleness"]) >= 1 and result.records["updates"] == len(timeline)
    assert result.env_steps >= 20_000 and live_children() == []


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", BACKENDS)
def test_an_evaluation_counts_every_env_step_behind_the_weights_it_evaluates(backend, monkeypatch):
    # A slow evaluation lets reports pile up in the queue while the workers keep updating the shared model.
    # Before each evaluation train() must count them all: counting one per loop once left a backlog that
    # grew with every evaluation, and 03 printed A3C solved at 4,025 env steps when its weights had 7,563.
    real_evaluate, lags = monitor.evaluate, []

    def slow_evaluate(*args, **kwargs):
        time.sleep(0.3)
        return real_evaluate(*args, **kwargs)

    def copy_to(self, local, should_stop=None):
        updates = real_copy(self, local, should_stop)
        if should_stop is None and reported:           # train()'s own copy, made to be evaluated
            lags.append(updates - len(reported[0].records["timeline"]))
        return updates

    reported = []
    real_copy = a3c.SharedModel.copy_to
    real_run = monitor.Run.__init__

    def run_init(self, *args, **kwargs):
        real_run(self, *args, **kwargs)
        reported.append(self.result)

    monkeypatch.setattr(monitor, "evaluate", slow_evaluate)
    monkeypatch.setattr(a3c.SharedModel, "copy_to", copy_to)
    monkeypatch.setattr(monitor.Run, "__init__", run_init)
    a3c.train(a3c.Config(backend=backend, num_workers=2, total_steps=12_000, eval_every=400, eval_episodes=1,
                         stop_when_solved=False), progress=False)
    evaluated = lags[:-1]                             # the last copy is close()'s, after the workers stopped
    # updates applied but not yet counted: at most the few in flight, one per worker and a queue's pipe
    assert len(evaluated) >= 3 and max(evaluated) <= 8, lags


# --- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field, value, pattern", [
    ("backend", "gpu", r"backend='gpu'"), ("num_workers", 0, r"num_workers=0"), ("t_max", 0, r"t_max=0"),
    ("lr", -1.0, r"lr=-1\.0"), ("optimizer", "sgd", r"optimizer='sgd'"), ("gamma", 2, r"gamma=2"),
    ("env_id", "Pendulum-v1", r"discrete"), ("device", "cuda", r"device='cuda'"),
])
def test_bad_config(field, value, pattern):
    with pytest.raises(ValueError, match=pattern):
        a3c.Config(**{field: value})


def test_the_numpy_policy_samples_pi_of_the_torch_model_and_follows_its_weights():
    """NumpyPolicy (what a worker acts with) draws from the same pi(.|s) as the torch model: frequencies of
    20,000 draws within 0.015 of softmax(logits); after load_state_dict it follows the new weights."""
    torch.manual_seed(0)
    model, other = a3c.build_model(a3c.Config()), a3c.build_model(a3c.Config(hidden=(64, 64)))
    with torch.no_grad():
        for p in other.policy_head.parameters():
            p.mul_(40)                                   # a far from uniform policy
    policy = a3c.NumpyPolicy(model, seed=0)
    obs = np.array([0.1, -0.2, 0.05, 0.3], np.float32)
    for source in (model, other):
        model.load_state_dict(source.state_dict())
        exact = torch.softmax(model.policy_logits(torch.as_tensor(obs)), -1).detach().numpy()
        draws = np.bincount([policy.sample(obs) for _ in range(20_000)], minlength=2) / 20_000
        np.testing.assert_allclose(draws, exact, atol=0.015)
    assert abs(exact[0] - 0.5) > 0.2                     # the second policy really differs from uniform
