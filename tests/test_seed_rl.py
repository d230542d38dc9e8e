"""SEED RL: the message format, the inference server against impala.sample_actions on the same batch, the
trajectories it keeps against what the actors sent, the Config's checks, and learning on threads and processes
(faults: tests/test_faults.py)."""

import multiprocessing

import numpy as np
import pytest
import torch
from procs import live_children

from rlteach import impala, monitor, seed_rl
from rlteach.workers import stream_seed


class Counting:
    """A Run stand-in: counts the env steps and episodes the server reports."""

    def __init__(self):
        self.steps, self.episodes = 0, []

    def add_steps(self, n):
        self.steps += n

    def add_episode(self, ret):
        self.episodes.append(float(ret))


def make_server(num_actors=3, **fields):
    import queue
    import threading

    config = seed_rl.Config(num_actors=num_actors, envs_per_actor=2, unroll_length=3, **fields)
    torch.manual_seed(0)
    model = seed_rl.build_model(config)
    ends = [multiprocessing.Pipe(duplex=True) for _ in range(num_actors)]
    unrolls, run = queue.Queue(), Counting()
    server = seed_rl.InferenceServer(config, model, threading.Lock(), [a for a, _ in ends], unrolls, run,
                                     lambda: 7, threading.Event())
    return config, model, server, [b for _, b in ends], unrolls, run


def test_pack_and_unpack_are_inverse():
    obs = np.arange(8, dtype=np.float32).reshape(2, 4)
    assert seed_rl.unpack(seed_rl.pack(obs, None), 2, (4,))[1] is None
    previous = (np.array([1.0, 0.5]), np.array([True, False]), np.array([False, True]), obs + 100)
    got_obs, got = seed_rl.unpack(seed_rl.pack(obs, previous), 2, (4,))
    np.testing.assert_array_equal(got_obs, obs)
    for a, b in zip(got, previous, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_server_answers_every_waiting_actor_with_one_forward():
    config, model, server, actors, _, _ = make_server()
    rng = np.random.default_rng(0)
    sent = [rng.normal(size=(2, 4)).astype(np.float32) for _ in actors]
    for pipe, obs in zip(actors, sent, strict=True):
        pipe.send_bytes(seed_rl.pack(obs, None))
    calls = []
    forward = model.policy_logits
    model.policy_logits = lambda x: calls.append(len(x)) or forward(x)
    assert server.serve_once(timeout=1.0) == 3
    assert calls == [6] and server.batch_counts == [0, 0, 0, 1]             # one forward for 3 actors x 2 envs
    # the same answer as IMPALA's sample_actions on the stacked batch, with the server's generator
    generator = torch.Generator().manual_seed(stream_seed(config.seed, "actions"))
    expected, _ = impala.sample_actions(model, np.concatenate(sent), generator)
    answers = np.concatenate([np.frombuffer(p.recv_bytes(), np.int64) for p in actors])
    np.testing.assert_array_equal(answers, expected)
    assert server.serve_once(timeout=0.01) == 0                             # nobody waiting: no forward


def test_the_server_keeps_each_actors_trajectory_and_sends_full_unrolls():
    config, model, server, actors, unrolls, run = make_server(num_actors=2)
    rng = np.random.default_rng(1)
    history = {i: {"obs": [], "actions": [], "rewards": [], "terminated": []} for i in range(2)}
    previous = {0: None, 1: None}
    for t in range(config.unroll_length + 1):
        for i, pipe in enumerate(actors):
            obs = rng.normal(size=(2, 4)).astype(np.float32)
            history[i]["obs"].append(obs)
            pipe.send_bytes(seed_rl.pack(obs, previous[i]))
        while sum(len(h["actions"]) for h in history.values()) < 2 * (t + 1):
            server.serve_once(timeout=1.0)
            for i, pipe in enumerate(actors):
                while pipe.poll():
                    history[i]["actions"].append(np.frombuffer(pipe.recv_bytes(), np.int64))
        for i in range(2):
            rewards, terminated = rng.random(2).astype(np.float32), np.array([t == 1, False])
            history[i]["rewards"].append(rewards)
            history[i]["terminated"].append(terminated)
            previous[i] = (rewards, terminated, np.zeros(2, bool), np.zeros((2, 4), np.float32))
    got = sorted((unrolls.get_nowait() for _ in range(2)), key=lambda u: u["actor"])
    assert unrolls.empty()
    T = config.unroll_length
    for i, unroll in enumerate(got):
        np.testing.assert_array_equal(unroll["obs"], np.stack(history[i]["obs"][:T]))
        np.testing.assert_array_equal(unroll["actions"], np.stack(history[i]["actions"][:T]))
        np.testing.assert_array_equal(unroll["rewards"], np.stack(history[i]["rewards"][:T]))
        np.testing.assert_array_equal(unroll["terminated"], np.stack(history[i]["terminated"][:T]))
        np.testing.assert_array_equal(unroll["last_obs"], history[i]["obs"][T])
        log_pi = torch.log_softmax(model.policy_logits(torch.as_tensor(unroll["obs"])), -1).detach()
        expected = log_pi.gather(-1, torch.as_tensor(unroll["actions"]).unsqueeze(-1)).squeeze(-1).numpy()
        np.testing.assert_allclose(unroll["behaviour_log_probs"], expected, rtol=1e-6)   # log mu = log pi here
        assert unroll["version"] == 7
    assert run.steps == 2 * 2 * T and len(run.episodes) == 2                   # env 0 of each ended at t = 1


@pytest.mark.parametrize("fields, message", [
    ({"backend": "ray"}, "backend"),
    ({"device": "cuda"}, "samples on the CPU"),
    ({"unrolls_per_weight_pull": 2}, "hold no weights"),
    ({"replay_fraction": 0.5}, "no replay"),
    ({"num_actors": 0}, "num_actors"),
])
def test_config_refuses_bad_settings(fields, message):
    with pytest.raises(ValueError, match=message):
        seed_rl.Config(**fields)


def test_a_run_records_batches_round_trips_and_saves(tmp_path):
    result = seed_rl.train(seed_rl.Config(seed=0, num_actors=4, total_steps=3000, eval_every=1000), progress=False)
    counts = result.records["batch_counts"]
    assert len(counts) == 5 and sum(counts) > 0 and counts[0] == 0
    assert result.records["round_trip_ms"] and min(result.records["round_trip_ms"]) > 0
    assert result.records["updates"] > 0 and min(result.records["policy_lag"]) >= 0
    loaded = monitor.load(result.save(tmp_path / "run"))
    assert isinstance(loaded.config, seed_rl.Config) and loaded.records == result.records


# 10 runs in a row of each (seed 0, 2 actors, a 2-core machine): threads solved at 12,088-46,048 env steps
# (3.0-14.5 s), processes at 12,140-62,132 (4.9-13.1 s). Budgets: at least twice the slowest.
SEED_STEP_BUDGETS = {"thread": 100_000, "process": 150_000}


@pytest.mark.learning
@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", ["thread", "process"])
def test_seed_rl_solves_cartpole(backend, learning_seed):
    config = seed_rl.Config(seed=learning_seed, backend=backend, total_steps=SEED_STEP_BUDGETS[backend])
    result = seed_rl.train(config, progress=False)
    assert result.solved, result.summary()
    assert monitor.evaluate(lambda o: result.model.greedy(o).numpy(), "CartPole-v1", 5, seed_base=77) >= 400
    assert live_children() == []
