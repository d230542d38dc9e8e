"""IMPALA: V-trace against the paper's equation summed directly, the truncation bootstrap, lag, overlap of
actors and learner (failures and Ctrl-C: test_stopping.py; learning: test_learning_async.py)."""

import contextlib
import zlib

import numpy as np
import pytest
import torch
from procs import live_children, worker_threads
from rng_noise import global_generator_noise

from rlteach import impala
from rlteach.advantage import discounted_returns
from rlteach.timeline import LEARNER, steady_steps_per_second
from rlteach.workers import InProcessContext

BACKENDS = ["thread", "process"]


# --- V-trace against a direct sum ------------------------------------------------------------------------------


def vtrace_by_direct_sum(mu, pi, r, gamma_t, V, V_T, rho_bar, c_bar, rho_pg_bar, lam):
    """The paper's equation term by term, O(T^2), one column at a time, in float64 Python numbers."""
    T = len(r)
    ratio = [np.exp(pi[t] - mu[t]) for t in range(T)]
    rho = [ratio[t] if rho_bar is None else min(rho_bar, ratio[t]) for t in range(T)]
    c = [lam * (ratio[t] if c_bar is None else min(c_bar, ratio[t])) for t in range(T)]
    V_next = [V[t + 1] if t + 1 < T else V_T for t in range(T)]
    delta = [rho[t] * (r[t] + gamma_t[t] * V_next[t] - V[t]) for t in range(T)]
    vs = []
    for s in range(T):
        total = V[s]
        for t in range(s, T):
            weight = 1.0
            for i in range(s, t):
                weight *= gamma_t[i] * c[i]
            total += weight * delta[t]
        vs.append(total)
    vs_next = [vs[s + 1] if s + 1 < T else V_T for s in range(T)]
    rho_pg = [ratio[s] if rho_pg_bar is None else min(rho_pg_bar, ratio[s]) for s in range(T)]
    adv = [rho_pg[s] * (r[s] + gamma_t[s] * vs_next[s] - V[s]) for s in range(T)]
    return np.array(vs), np.array(adv)


def random_inputs(rng, shape):
    T = shape[0]
    mu = np.log(rng.uniform(0.05, 1.0, shape))
    pi = mu + rng.normal(0, 0.7, shape)                     # ratios from about 0.2 to 5: clips matter
    r = rng.normal(size=shape)
    gamma_t = 0.95 * (rng.random(shape) > 0.2)               # some zeros: episode ends inside the unroll
    V = rng.normal(size=shape)
    V_T = rng.normal(size=shape[1:])
    assert T >= 1
    return mu, pi, r, gamma_t, V, V_T


@pytest.mark.parametrize("shape", [(1,), (7,), (12, 3), (5, 1), (20, 4)])
@pytest.mark.parametrize("clips", [(1.0, 1.0, 1.0), (None, None, None), (2.0, 0.5, 1.5), (0.3, 1.0, None)])
@pytest.mark.parametrize("lam", [1.0, 0.8])
def test_vtrace_matches_the_direct_sum(shape, clips, lam):
    rng = np.random.default_rng(zlib.crc32(repr((shape, clips, lam)).encode()))
    mu, pi, r, gamma_t, V, V_T = random_inputs(rng, shape)
    got = impala.vtrace(*(torch.as_tensor(x) for x in (mu, pi, r, gamma_t, V, V_T)), *clips, lam=lam)
    columns = 1 if len(shape) == 1 else shape[1]
    for b in range(columns):
        col = (lambda x: x) if len(shape) == 1 else (lambda x, b=b: x[:, b])
        vs, adv = vtrace_by_direct_sum(col(mu), col(pi), col(r), col(gamma_t), col(V),
                                       V_T if len(shape) == 1 else V_T[b], *clips, lam)
        np.testing.assert_allclose(col(got.vs.numpy()), vs, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(col(got.pg_advantages.numpy()), adv, rtol=1e-10, atol=1e-10)


def test_on_policy_vtrace_is_the_n_step_return():
    rng = np.random.default_rng(5)
    T, B, gamma = 15, 3, 0.9
    log_p = torch.as_tensor(np.log(rng.uniform(0.1, 1, (T, B))))
    rewards = rng.normal(size=(T, B))
    terminated = rng.random((T, B)) < 0.15
    values, bootstrap = rng.normal(size=(T, B)), rng.normal(size=B)
    vs, adv = impala.vtrace(log_p, log_p, torch.as_tensor(rewards), torch.as_tensor(gamma * (1.0 - terminated)),
                            torch.as_tensor(values), torch.as_tensor(bootstrap))
    next_values = np.concatenate([values[1:], bootstrap[None]])
    returns = discounted_returns(rewards, next_values, terminated, np.zeros_like(terminated), gamma)
    np.testing.assert_allclose(vs.numpy(), returns, rtol=1e-12)
    vs_next = np.concatenate([vs.numpy()[1:], bootstrap[None]])
    np.testing.assert_allclose(adv.numpy(), rewards + gamma * (1 - terminated) * vs_next - values, rtol=1e-12)


def test_vtrace_keeps_dtype_and_carries_no_gradient():
    x = [torch.randn(6, 2, dtype=torch.float32, requires_grad=True) for _ in range(5)]
    out = impala.vtrace(*x, torch.randn(2, requires_grad=True))
    assert out.vs.dtype == torch.float32 and out.vs.shape == (6, 2) and out.pg_advantages.shape == (6, 2)
    assert not out.vs.requires_grad and not out.pg_advantages.requires_grad


# --- truncation: the learner bootstraps from the final observation ---------------------------------------------


def test_learner_inputs_bootstrap_a_truncated_step_from_its_final_observation():
    torch.manual_seed(0)
    model = impala.build_model(impala.Config())
    T, B, gamma = 4, 3, 0.9
    batch = {"rewards": torch.ones(T, B), "terminated": torch.zeros(T, B, dtype=torch.bool),
             "truncated": torch.zeros(T, B, dtype=torch.bool), "final_obs": torch.randn(T, B, 4),
             "last_obs": torch.randn(B, 4)}
    batch["truncated"][1, 0] = True                                  # a time limit: bootstrap
    batch["terminated"][2, 1] = True                                 # a real end: nothing to bootstrap
    batch["terminated"][3, 2] = batch["truncated"][3, 2] = True      # both: terminated wins
    rewards, discounts, bootstrap = impala.learner_inputs(model, batch, gamma)
    with torch.no_grad():
        v_final = model(batch["final_obs"][1, 0])[1].item()
        v_last = model(batch["last_obs"])[1]
    want_rewards = torch.ones(T, B)
    want_rewards[1, 0] += gamma * v_final
    want_discounts = torch.full((T, B), gamma)
    want_discounts[1, 0] = want_discounts[2, 1] = want_discounts[3, 2] = 0.0
    torch.testing.assert_close(rewards, want_rewards)
    torch.testing.assert_close(discounts, want_discounts)
    torch.testing.assert_close(bootstrap, v_last)


# --- a run: actors and learner at the same time, lag that grows with the weight-pull delay ----------------------


def overlap(intervals_a, intervals_b) -> float:
    return sum(max(0.0, min(e1, e2) - max(s1, s2)) for s1, e1 in intervals_a for s2, e2 in intervals_b)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", BACKENDS)
def test_actors_and_learner_overlap_and_lag_grows_with_the_pull_delay(backend):
    lag = {}
    for pull_every in (1, 32):   # 32: about 16 updates of added lag, far above the queue's load-dependent share
        config = impala.Config(backend=backend, unrolls_per_weight_pull=pull_every, total_steps=12_000,
                               stop_when_solved=False, eval_every=None)
        result = impala.train(config, progress=False)
        r = result.records
        assert r["updates"] >= 50 and len(r["policy_lag"]) == r["updates"] * config.batch_size
        assert min(r["policy_lag"]) >= 0 and r["actor_steps_per_second"] > 0 and r["learner_steps_per_second"] > 0
        actors = [(row.start, row.end) for row in r["timeline"] if row.who != LEARNER]
        learner = [(row.start, row.end) for row in r["timeline"] if row.who == LEARNER]
        assert {row.who for row in r["timeline"]} == {LEARNER, 0, 1}
        assert overlap(actors, learner) > 0                # the learner learned while actors acted
        assert steady_steps_per_second(r["timeline"]) > 0
        lag[pull_every] = np.mean(r["policy_lag"])
        assert live_children() == [] and worker_threads() == []
    assert lag[32] > lag[1] + 4.0, lag


def test_the_no_learning_baseline_steps_every_env():
    assert impala.no_learning_steps_per_second(impala.Config(num_actors=1, envs_per_actor=2), env_steps=200) > 0


# --- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field, value, pattern", [
    ("backend", "gpu", r"backend='gpu'"), ("num_actors", 0, r"num_actors=0"), ("unroll_length", 0, r"unroll_length=0"),
    ("clip_rho", -1.0, r"clip_rho=-1\.0"), ("lam", 1.5, r"lam=1\.5"),
    ("unrolls_per_weight_pull", 0, r"unrolls_per_weight_pull=0"),
    ("env_id", "Pendulum-v1", r"discrete"),
])
def test_bad_config(field, value, pattern):
    with pytest.raises(ValueError, match=pattern):
        impala.Config(**{field: value})


@pytest.mark.parametrize("clip_rho, clip_c", [(1.0, 2.0), (0.5, 1.0), (1.0, None)])
def test_c_bar_above_rho_bar_is_refused_naming_both(clip_rho, clip_c):
    """V-trace assumes rho_bar >= c_bar; None is no clip (infinite), so clip_c=None needs clip_rho=None."""
    with pytest.raises(ValueError, match=rf"clip_c={clip_c!r} with clip_rho={clip_rho!r}.*rho_bar >= c_bar"):
        impala.Config(clip_rho=clip_rho, clip_c=clip_c)


@pytest.mark.parametrize("clip_rho, clip_c", [(1.0, 1.0), (2.0, 0.5), (None, 5.0), (None, None)])
def test_c_bar_at_most_rho_bar_is_allowed(clip_rho, clip_c):
    config = impala.Config(clip_rho=clip_rho, clip_c=clip_c)
    assert (config.clip_rho, config.clip_c) == (clip_rho, clip_c)


def test_an_actor_samples_from_its_own_generator_whatever_other_threads_do():
    """On threads, actors share torch's global generator; an actor's actions must depend on its seed alone."""

    config = impala.Config(envs_per_actor=2, unroll_length=10)
    torch.manual_seed(0)
    state = impala.build_model(config).state_dict()

    def actions(index, noisy):
        ctx = InProcessContext(state, index=index, stop_after=3)
        with global_generator_noise() if noisy else contextlib.nullcontext():
            impala.actor(ctx, config, 0.0)
        return np.concatenate([u["actions"] for u in ctx.sent])

    quiet = actions(0, False)
    np.testing.assert_array_equal(actions(0, True), quiet)
    assert not np.array_equal(actions(1, False), quiet)
