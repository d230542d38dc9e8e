"""Ape-X: the epsilon ladder, the n-step double DQN TD error, actor-side initial priorities, flow control
(failures and Ctrl-C: test_stopping.py; learning: test_learning_async.py)."""


import gymnasium as gym
import numpy as np
import pytest
import torch
from procs import live_children, worker_threads
from seed_spy import spy_on_env_seeds

from rlteach import apex
from rlteach.workers import InProcessContext, stream_seed

BACKENDS = ["thread", "process"]


# --- the epsilon ladder ------------------------------------------------------------------------------------


def test_epsilon_ladder_follows_the_formula():
    for n in (2, 3, 8, 32):
        got = apex.epsilon_ladder(n, eps=0.4, exponent=7.0)
        want = [0.4 ** (1 + i / (n - 1) * 7.0) for i in range(n)]
        np.testing.assert_allclose(got, want, rtol=1e-12)
        assert got[0] == pytest.approx(0.4) and got[-1] == pytest.approx(0.4**8)
        assert (np.diff(got) < 0).all()                 # actor 0 explores most, the last one least
    np.testing.assert_allclose(apex.epsilon_ladder(1, eps=0.3, exponent=5.0), [0.3])
    np.testing.assert_allclose(apex.epsilon_ladder(4, eps=0.5, exponent=0.0), [0.5] * 4)   # exponent 0: no ladder


@pytest.mark.parametrize("args, pattern", [((0,), "num_actors=0"), ((2, 1.5), "eps=1.5"),
                                           ((2, 0.4, -1.0), "exponent=-1"), ((2.5,), "num_actors must be an integer")])
def test_epsilon_ladder_rejects_bad_input(args, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        apex.epsilon_ladder(*args)


# --- the n-step double DQN TD error --------------------------------------------------------------------------


def random_batch(rng, b=16, obs_dim=4):
    return {"obs": torch.as_tensor(rng.normal(size=(b, obs_dim)), dtype=torch.float32),
            "action": torch.as_tensor(rng.integers(0, 2, b)),
            "reward": torch.as_tensor(rng.normal(size=b), dtype=torch.float32),
            "discount": torch.as_tensor(0.99 ** rng.integers(1, 4, b), dtype=torch.float32),
            "next_obs": torch.as_tensor(rng.normal(size=(b, obs_dim)), dtype=torch.float32),
            "done": torch.as_tensor(rng.integers(0, 2, b), dtype=torch.float32)}


@pytest.mark.parametrize("dueling", [False, True])
def test_n_step_td_is_the_double_dqn_target_minus_q(dueling):
    torch.manual_seed(0)
    config = apex.Config(dueling=dueling)
    online, target = apex.build_model(config), apex.build_model(config)      # different random weights
    batch = random_batch(np.random.default_rng(1))
    delta = apex.n_step_td(online, target, batch)
    for j in range(len(delta)):                          # one transition at a time, written out
        with torch.no_grad():
            q_online_next = online(batch["next_obs"][j]).tolist()
            a_star = max(range(2), key=lambda a: q_online_next[a])          # online net picks
            bootstrap = target(batch["next_obs"][j])[a_star].item()         # target net values
            g = batch["reward"][j].item() + (1 - batch["done"][j].item()) * batch["discount"][j].item() * bootstrap
            q_sa = online(batch["obs"][j])[batch["action"][j]].item()
        assert delta[j].item() == pytest.approx(g - q_sa, abs=1e-5)
    # gradients reach Q(s, a) of the online net only
    delta.sum().backward()
    assert all(p.grad is not None for p in online.parameters())
    assert all(p.grad is None for p in target.parameters())


def test_a_terminated_transition_does_not_bootstrap():
    torch.manual_seed(0)
    net = apex.build_model(apex.Config())
    batch = random_batch(np.random.default_rng(2), b=4)
    batch["done"] = torch.ones(4)
    with torch.no_grad():
        q_sa = net(batch["obs"]).gather(1, batch["action"][:, None]).squeeze(1)
    torch.testing.assert_close(apex.n_step_td(net, net, batch).detach(), batch["reward"] - q_sa)


# --- the actor: its own epsilon, and initial priorities from its own |delta| ----------------------------------


def test_actor_sends_n_step_transitions_with_priorities_from_its_own_td_errors():
    config = apex.Config(transitions_per_message=20, priority_eps=1e-3)
    torch.manual_seed(3)
    net = apex.build_model(config)
    ctx = InProcessContext(net.state_dict(), state_version=7, stop_after=3)
    apex.actor(ctx, config)
    assert len(ctx.sent) == 4                          # 3 full messages, then what it held when it stopped
    for i, (index, batch, priorities, _steps, finished, versions, pulls) in enumerate(ctx.sent):
        assert pulls == (1 if i == 0 else 0)           # weight copies: version 7 arrives once, at the start
        assert all(episode_return >= 1 for episode_return in finished)
        assert index == 0 and (versions == 7).all() and len(versions) == len(priorities) == len(batch["obs"])
        assert len(priorities) >= (20 if i < 3 else 1)
        assert set(batch) == {"obs", "action", "reward", "discount", "next_obs", "done"}
        with torch.no_grad():
            delta = apex.n_step_td(net, net, {k: torch.as_tensor(v) for k, v in batch.items()})
        np.testing.assert_allclose(priorities, np.abs(delta.numpy()) + 1e-3, rtol=1e-5)
        assert np.ptp(priorities) > 0 or len(priorities) == 1  # real TD errors, not one default priority
    # every step reaches the learner: as a step count, and as the one transition that starts at it
    assert sum(m[3] for m in ctx.sent) == sum(len(m[2]) for m in ctx.sent) >= 61


def test_an_actors_coin_env_and_random_actions_get_seeds_of_their_own(monkeypatch):
    """The exploration coin, the env's reset and the action space's sampler used to share one seed (three
    identical streams). Now each use of each actor has its own stream (``workers.stream_seed``)."""
    config = apex.Config(transitions_per_message=5)
    state = apex.build_model(config).state_dict()
    seeds = []
    spy_on_env_seeds(monkeypatch, apex, seeds)
    default_rng = np.random.default_rng

    def recording_rng(seed=None):
        seeds.append(("explore", seed))
        return default_rng(seed)

    monkeypatch.setattr(np.random, "default_rng", recording_rng)
    values = []
    for index in (0, 1):
        seeds.clear()
        apex.actor(InProcessContext(state, index=index, stop_after=1), config)
        assert sorted(seeds) == sorted((use, stream_seed(0, use, index)) for use in ("explore", "env", "action_space"))
        values += [seed for _, seed in seeds]
    assert len(set(values)) == 6, seeds


class PullingContext(InProcessContext):
    """A hand-made sequence of weight pulls: pull j (j = 0 at the actor's start, then one per
    ``env_steps_per_weight_sync`` steps) returns version ``schedule(j)``."""

    def __init__(self, state_dict, schedule, messages_wanted):
        super().__init__(state_dict, stop_after=messages_wanted)
        self.schedule, self.pulls = schedule, 0

    def weights(self, model, version=-1):
        new = self.schedule(self.pulls)
        self.pulls += 1
        if new > version:
            model.load_state_dict(self.state)
            return new
        return version


@pytest.mark.parametrize("env_steps_per_weight_sync, n_step", [(1, 3), (4, 3), (3, 1)])
def test_each_transition_carries_the_version_its_first_step_was_acted_with(env_steps_per_weight_sync, n_step,
                                                                           monkeypatch):
    """Versions move on mid-message: a message's transitions must not all look as fresh as its newest."""
    config = apex.Config(transitions_per_message=10, n_step=n_step, env_steps_per_weight_sync=env_steps_per_weight_sync,
                         epsilon=1.0)

    def schedule(j):
        return 3 * (j // 2)                              # every second pull brings newer weights

    torch.manual_seed(0)
    ctx = PullingContext(apex.build_model(config).state_dict(), schedule, messages_wanted=4)
    starts = []                                          # the observation each step starts from
    make = apex.make_env

    class Recorder(gym.Wrapper):
        def reset(self, **kwargs):
            self.obs, info = self.env.reset(**kwargs)
            return self.obs, info

        def step(self, action):
            starts.append(np.array(self.obs))
            out = self.env.step(action)
            self.obs = out[0]
            return out

    monkeypatch.setattr(apex, "make_env", lambda *args, **kwargs: Recorder(make(*args, **kwargs)))
    apex.actor(ctx, config)
    # the version step t was acted with: that of the last pull at or before it (pull j happens before step
    # (j - 1) * env_steps_per_weight_sync, j >= 1; pull 0 before the first step)
    versions_by_step = [schedule(t // env_steps_per_weight_sync + 1) for t in range(len(starts))]
    seen = 0
    for _, batch, _, _, _, versions, _ in ctx.sent:
        for obs, version in zip(batch["obs"], versions, strict=True):
            t = next(i for i, s in enumerate(starts) if np.array_equal(s, obs))
            assert version == versions_by_step[t], (t, version, versions_by_step[t])
            seen += 1
    assert any(m[5].min() < m[5].max() for m in ctx.sent)   # the case that matters: a pull mid-message
    assert seen == len(starts)                           # one transition per step, none lost at the stop


def test_train_stores_the_actors_priorities_not_a_default(monkeypatch):
    calls = []
    original = apex.PrioritizedReplay.add_batch

    def spy(self, transitions, priorities=None):
        calls.append(None if priorities is None else np.array(priorities))
        return original(self, transitions, priorities)

    monkeypatch.setattr(apex.PrioritizedReplay, "add_batch", spy)
    apex.train(apex.Config(total_steps=600, learning_starts=300, stop_when_solved=False, eval_every=None),
               progress=False)
    assert calls and all(p is not None and np.ptp(p) > 0 for p in calls if len(p) > 1)


# --- a run on each backend: both actors act, the learner learns, lag is recorded -------------------------------


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_short_run_on_each_backend(backend):
    config = apex.Config(backend=backend, num_actors=2, total_steps=4000, learning_starts=500,
                         stop_when_solved=False, eval_every=2000)
    result = apex.train(config, progress=False)
    r = result.records
    np.testing.assert_allclose(r["epsilons"], apex.epsilon_ladder(2))
    assert {index for index, _, _ in r["actor_returns"]} == {0, 1}
    assert result.env_steps >= 4000 and len(result.evals) >= 2
    # flow control: one update per env_steps_per_update env steps past learning_starts (give or take a message)
    owed = (result.env_steps - config.learning_starts) / config.env_steps_per_update
    assert owed - 30 <= r["updates"] <= owed + 1
    assert max(r["policy_lag"]) >= 1 and min(r["policy_lag"]) >= 0
    assert r["messages"] == len(r["policy_lag"])
    # each actor copies at start, then at most once per env_steps_per_weight_sync env steps
    assert 2 <= r["weight_pulls"] <= 2 + result.env_steps / config.env_steps_per_weight_sync
    assert live_children() == [] and worker_threads() == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("transitions_per_message, n_step", [(1, 3), (2, 3), (1, 5)])
def test_flow_control_leaves_room_for_the_steps_inside_the_n_step_builder(transitions_per_message, n_step):
    """An actor that is ahead holds up to n - 1 steps the learner has not heard of; with no slack for them
    a small transitions_per_message left actor and learner waiting for each other for ever (seen with
    transitions_per_message=1)."""
    config = apex.Config(num_actors=2, total_steps=1500, learning_starts=200,
                         transitions_per_message=transitions_per_message, n_step=n_step, stop_when_solved=False,
                         eval_every=None)
    assert apex.allowed_steps(config, 0) == 200 / 2 + transitions_per_message + n_step - 1
    result = apex.train(config, progress=False)
    assert result.env_steps >= 1500 and result.records["updates"] > 0


# --- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field, value, pattern", [
    ("backend", "gpu", r"backend='gpu'"), ("num_actors", 0, r"num_actors=0"), ("epsilon", 1.5, r"epsilon=1\.5"),
    ("priority_alpha", -0.1, r"priority_alpha=-0\.1"), ("priority_beta", 1.2, r"priority_beta=1\.2"),
    ("n_step", 0, r"n_step=0"), ("batch_size", 0, r"batch_size=0"), ("hidden", (), r"hidden=\(\)"),
    ("env_id", "Pendulum-v1", r"discrete"), ("priority_eps", 0.0, r"priority_eps=0\.0"),
])
def test_bad_config(field, value, pattern):
    with pytest.raises(ValueError, match=pattern):
        apex.Config(**{field: value})
