"""rlteach/SlowCartPole-v1: CartPole's dynamics at a cost per step, found by id in every kind of worker, and
never slowing down the evaluation; the ``env_kwargs`` every Config passes to gym.make."""

import subprocess
import sys
import time
from functools import partial

import gymnasium as gym
import numpy as np
import pytest

from rlteach import a3c, apex, envs, impala, monitor
from rlteach import policy_gradient as a2c

SLOW = envs.SLOW_CARTPOLE


def play(env, actions, seed=0):
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    for a in actions:
        obs, reward, terminated, truncated, _ = env.step(a)
        trace.append(np.r_[obs, reward, terminated, truncated])
        if terminated or truncated:
            break
    env.close()
    return trace


@pytest.mark.parametrize("mode", envs.SLOW_MODES)
def test_same_dynamics_threshold_and_time_limit_as_cartpole(mode):
    actions = np.random.default_rng(0).integers(0, 2, 600)
    slow = play(gym.make(SLOW, delay_ms=0.0, mode=mode), actions)
    np.testing.assert_array_equal(np.concatenate(slow), np.concatenate(play(gym.make("CartPole-v1"), actions)))
    spec = gym.spec(SLOW)
    assert (spec.reward_threshold, spec.max_episode_steps) == (475.0, 500)
    assert envs.reward_threshold(SLOW) == envs.reward_threshold("CartPole-v1")
    assert envs.env_dims(SLOW, {"mode": mode}) == envs.env_dims("CartPole-v1")


@pytest.mark.parametrize("mode", envs.SLOW_MODES)
def test_every_step_costs_at_least_its_delay(mode):
    env = gym.make(SLOW, delay_ms=5.0, mode=mode)
    env.reset(seed=0)
    for _ in range(5):
        start = time.perf_counter()
        env.step(0)
        assert time.perf_counter() - start >= 0.005
        env.reset()
    env.close()


def test_sleep_waits_without_computing():
    """mode="sleep" leaves the CPU (and the GIL) to others: this thread's CPU time stays far below the delay."""
    env = gym.make(SLOW, delay_ms=10.0, mode="sleep")
    env.reset(seed=0)
    cpu = time.thread_time()
    for _ in range(5):
        env.step(0)
        env.reset()
    assert time.thread_time() - cpu < 0.025            # 5 steps waited 50 ms
    env.close()


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"delay_ms": -1}, ValueError, "delay_ms=-1"), ({"delay_ms": float("nan")}, ValueError, "delay_ms=nan"),
    ({"delay_ms": float("inf")}, ValueError, "delay_ms=inf"), ({"delay_ms": 1001}, ValueError, "delay_ms=1001"),
    ({"delay_ms": "1"}, TypeError, "delay_ms='1'"), ({"delay_ms": True}, TypeError, "delay_ms=True"),
    ({"mode": "nap"}, ValueError, "mode='nap'"), ({"mode": None}, ValueError, "mode=None"),
])
def test_bad_settings_are_refused_by_the_env_and_by_every_config(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        gym.make(SLOW, **kwargs)
    for module in (a2c, a3c, apex, impala):
        with pytest.raises(ValueError, match=rf"env_kwargs=.*not allowed for env_id='{SLOW}'.*{pattern}"):
            module.Config(env_id=SLOW, env_kwargs=kwargs)


@pytest.mark.parametrize("env_kwargs, error", [([("delay_ms", 1)], TypeError), ("delay_ms=1", TypeError),
                                               ({1: 2}, TypeError), ({"delay_ms": 1.0}, ValueError)])
def test_bad_env_kwargs_are_refused_for_cartpole(env_kwargs, error):
    for module in (a2c, a3c, apex, impala):
        with pytest.raises(error, match="env_kwargs="):
            module.Config(env_kwargs=env_kwargs)


def test_a_config_keeps_its_own_copy_of_env_kwargs():
    kwargs = {"delay_ms": 1.0}
    config = a2c.Config(env_id=SLOW, env_kwargs=kwargs)
    kwargs["delay_ms"] = -5
    assert config.env_kwargs == {"delay_ms": 1.0}


def test_registered_by_import_rlteach_in_a_fresh_interpreter():
    code = "import rlteach, gymnasium as gym; print(gym.make('rlteach/SlowCartPole-v1').unwrapped.delay_ms)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "1.0"


@pytest.mark.parametrize("make", [partial(envs.make_env, SLOW, {"delay_ms": 2.0}),
                                  partial(gym.make, f"rlteach.envs:{SLOW}", delay_ms=2.0)],
                         ids=["make_env", "module:id"])
def test_found_in_spawned_subprocesses_of_an_async_vector_env(make):
    vec = gym.vector.AsyncVectorEnv([make] * 2, context="spawn")
    try:
        vec.reset(seed=0)
        assert vec.get_attr("delay_ms") == (2.0, 2.0)
        assert len({p.pid for p in vec.processes}) == 2
        obs, reward, *_ = vec.step(np.array([0, 1]))
        assert obs.shape == (2, 4) and (reward == 1).all()
    finally:
        envs.close_vector_env(vec)


@pytest.mark.parametrize("module", [a3c, impala, apex])
def test_found_by_worker_processes(module):
    config = module.Config(env_id=SLOW, env_kwargs={"delay_ms": 0.5}, backend="process", total_steps=600,
                           eval_every=None, seed=0)
    result = module.train(config, progress=False)
    assert result.env_steps >= 600 and not result.interrupted


@pytest.mark.parametrize("vectorization", a2c.VECTORIZATIONS[:2])
def test_a2c_steps_a_slow_cartpole_in_each_mode(vectorization):
    config = a2c.Config(env_id=SLOW, env_kwargs={"delay_ms": 0.5, "mode": "busy"}, vectorization=vectorization,
                        total_steps=400, eval_every=None)
    result = a2c.train(config, progress=False)
    assert result.env_steps >= 400


def test_vector_entry_point_without_one_is_a_clear_error():
    with pytest.raises(ValueError, match="vectorization='vector_entry_point' is not allowed for env_id="
                                         f"'{SLOW}'.*no NumPy-vectorized version.*'sync' or 'async'"):
        a2c.Config(env_id=SLOW, vectorization="vector_entry_point")


class Sleeps:
    """Stands in for the time module inside rlteach.envs: counts the sleeps, never waits."""

    def __init__(self):
        self.calls = 0

    def sleep(self, seconds):
        self.calls += 1

    perf_counter = staticmethod(time.perf_counter)
    thread_time = staticmethod(time.thread_time)


def test_evaluation_plays_the_same_env_without_its_delay(monkeypatch):
    sleeps = Sleeps()
    monkeypatch.setattr(envs, "time", sleeps)
    act = lambda obs: np.zeros(len(obs), dtype=int)    # noqa: E731  (always push left: short episodes)
    slow = {"delay_ms": 20.0}
    monitor.evaluate(act, SLOW, 3, env_kwargs=slow)
    assert sleeps.calls > 0                             # the workload sleeps ...
    sleeps.calls = 0
    assert envs.evaluation_kwargs(SLOW, slow) == {"delay_ms": 0.0}
    assert envs.evaluation_kwargs("CartPole-v1", None) == {}
    run = monitor.Run(a2c.Config(env_id=SLOW, env_kwargs=slow, eval_every=1), progress=False)
    run.add_steps(1)
    assert run.maybe_evaluate(act)
    assert sleeps.calls == 0 and run.result.eval_seconds > 0    # ... the instrument does not
