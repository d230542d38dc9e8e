"""IMPALA's off-policy corrections against a hand computation, its exploring actors, its replay of past
unrolls, and the one-hot cliff they are shown on (rlteach.off_policy, impala.corrected_returns, rlteach.envs)."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from test_impala import vtrace_by_direct_sum

from rlteach import impala
from rlteach.envs import ONE_HOT_CLIFF, reward_threshold
from rlteach.off_policy import Replay, behaviour_log_probs, expected_logit_step
from rlteach.workers import InProcessContext

# --- the corrections, on one fixed unroll of 3 steps --------------------------------------------------------------

MU = np.log([0.5, 0.25, 0.8])          # log mu(a_t|x_t) of the actions taken
PI = np.log([0.25, 0.5, 0.4])          # log pi(a_t|x_t): ratios pi/mu = 0.5, 2, 0.5
R = np.array([1.0, 0.0, 2.0])
GAMMA_T = np.array([0.9, 0.9, 0.9])
V = np.array([0.5, 1.0, -1.0])
V_T = 3.0


def by_hand(correction):
    """The targets and advantages of one correction, written out for this unroll."""
    g = 0.9
    n_step = [R[0] + g * R[1] + g**2 * R[2] + g**3 * V_T,          # every ratio 1: the n-step return
              R[1] + g * R[2] + g**2 * V_T,
              R[2] + g * V_T]
    n_step_next = n_step[1:] + [V_T]
    plain = [R[t] + g * n_step_next[t] - V[t] for t in range(3)]    # r_t + gamma v_{t+1} - V(x_t)
    if correction == "none":
        return n_step, plain
    if correction == "one_step_is":
        return n_step, [min(1.0, ratio) * a for ratio, a in zip((0.5, 2.0, 0.5), plain, strict=True)]
    return vtrace_by_direct_sum(MU, PI, R, GAMMA_T, V, V_T, 1.0, 1.0, 1.0, 1.0)


@pytest.mark.parametrize("correction", impala.CORRECTIONS)
def test_each_correction_matches_a_hand_computation(correction):
    vs, advantages = impala.corrected_returns(correction, *(torch.tensor(x) for x in (MU, PI, R, GAMMA_T, V)),
                                              torch.tensor(V_T))
    want_vs, want_advantages = by_hand(correction)
    np.testing.assert_allclose(vs.numpy(), want_vs, rtol=1e-12)
    np.testing.assert_allclose(advantages.numpy(), want_advantages, rtol=1e-12)


def test_the_three_corrections_differ_on_this_unroll_and_agree_on_policy():
    args = [torch.tensor(x) for x in (MU, PI, R, GAMMA_T, V)] + [torch.tensor(V_T)]
    out = {c: impala.corrected_returns(c, *args) for c in impala.CORRECTIONS}
    assert not np.allclose(out["vtrace"].vs, out["none"].vs)                      # V-trace corrects the critic
    assert not np.allclose(out["one_step_is"].pg_advantages, out["none"].pg_advantages)
    on_policy = [torch.tensor(PI)] + args[1:]
    same = [impala.corrected_returns(c, *on_policy) for c in impala.CORRECTIONS]
    for other in same[1:]:
        np.testing.assert_allclose(other.vs, same[0].vs)
        np.testing.assert_allclose(other.pg_advantages, same[0].pg_advantages)


# --- exploring actors -------------------------------------------------------------------------------------------


def test_the_behaviour_policy_mixes_pi_with_the_uniform_policy():
    logits = torch.tensor([[2.0, 0.0, -1.0, 0.5]])
    pi = torch.softmax(logits, -1)
    assert torch.equal(behaviour_log_probs(logits, 0.0), torch.log_softmax(logits, -1))   # bit for bit
    mu = behaviour_log_probs(logits, 0.2).exp()
    torch.testing.assert_close(mu, 0.8 * pi + 0.05)
    torch.testing.assert_close(mu.sum(), torch.tensor(1.0))
    torch.testing.assert_close(behaviour_log_probs(logits, 1.0).exp(), torch.full((1, 4), 0.25))


def test_an_exploring_actor_samples_from_mu_and_records_log_mu():
    torch.manual_seed(0)
    model = impala.build_model(impala.Config())
    obs = np.zeros((20_000, 4), np.float32)                  # one state, many samples: the frequencies of mu
    actions, log_mu = impala.sample_actions(model, obs, torch.Generator().manual_seed(1), epsilon=0.6)
    mu = behaviour_log_probs(model.policy_logits(torch.as_tensor(obs[:1])), 0.6).exp()[0].detach().numpy()
    freq = np.bincount(actions, minlength=2) / len(actions)
    np.testing.assert_allclose(freq, mu, atol=0.015)
    np.testing.assert_allclose(np.exp(log_mu), mu[actions], rtol=1e-6)


def test_actor_epsilon_reaches_the_actor_and_the_learner_sees_mu_not_pi():
    config = impala.Config(envs_per_actor=2, unroll_length=50, actor_epsilon=0.5)
    torch.manual_seed(0)
    state = impala.build_model(config).state_dict()
    ctx = InProcessContext(state, index=0, stop_after=2)
    impala.actor(ctx, config, 0.0)
    model = impala.build_model(config)
    model.load_state_dict(state)
    batch = impala.stack_unrolls(ctx.sent)
    log_pi = torch.log_softmax(model.policy_logits(batch["obs"].float()), -1)
    log_mu = torch.log(0.5 * log_pi.exp() + 0.25)
    taken = batch["actions"].long().unsqueeze(-1)
    torch.testing.assert_close(batch["behaviour_log_probs"].float(), log_mu.gather(-1, taken).squeeze(-1))


def test_a_critic_error_pushes_the_uncorrected_step_by_c_times_mu_minus_pi_and_the_corrected_not_at_all():
    rng = np.random.default_rng(0)
    for _ in range(20):
        logits, advantages, c, eps = rng.normal(size=4), rng.normal(size=4), rng.normal(scale=10), rng.uniform()
        pi = np.exp(logits) / np.exp(logits).sum()
        mu = (1 - eps) * pi + eps / 4
        shifted = advantages + c
        np.testing.assert_allclose(expected_logit_step(logits, shifted, eps, corrected=False),
                                   expected_logit_step(logits, advantages, eps, corrected=False) + c * (mu - pi))
        np.testing.assert_allclose(expected_logit_step(logits, shifted, eps, corrected=True),
                                   expected_logit_step(logits, advantages, eps, corrected=True), atol=1e-9)
        by_sum = sum(mu[a] * shifted[a] * (np.eye(4)[a] - pi) for a in range(4))     # the gradient, action by action
        np.testing.assert_allclose(expected_logit_step(logits, shifted, eps, corrected=False), by_sum)


# --- replay of past unrolls -----------------------------------------------------------------------------------


def test_the_replay_keeps_the_newest_unrolls_and_samples_without_replacement():
    replay = Replay(3, np.random.default_rng(0))
    assert replay.sample(2) == []
    replay.add([{"i": i} for i in range(5)])
    assert len(replay) == 3 and [u["i"] for u in replay.unrolls] == [2, 3, 4]
    for _ in range(50):
        drawn = [u["i"] for u in replay.sample(2)]
        assert len(set(drawn)) == 2 and set(drawn) <= {2, 3, 4}
    counts = np.bincount([u["i"] for _ in range(3000) for u in replay.sample(1)], minlength=5)[2:]
    np.testing.assert_allclose(counts / 3000, 1 / 3, atol=0.03)                  # uniform


@pytest.mark.timeout(120)
def test_a_run_with_replay_draws_its_share_of_each_batch_from_past_unrolls():
    config = impala.Config(batch_size=4, replay_fraction=0.5, replay_capacity_unrolls=20, total_steps=6000,
                           eval_every=None, stop_when_solved=False)
    r = impala.train(config, progress=False).records
    assert r["updates"] > 20 and len(r["replayed"]) == r["updates"]
    assert r["replayed"][0] == 0 and r["replayed"][1] == 2                       # none stored yet, then 2 of 4
    assert set(r["replayed"][1:]) == {2}
    assert len(r["policy_lag"]) == 2 + 4 * (r["updates"] - 1)                    # the first batch: 2 fresh only
    lags = np.array(r["policy_lag"][2:]).reshape(r["updates"] - 1, 4)             # each batch: fresh, then replayed
    assert lags[10:, 2:].mean() > lags[10:, :2].mean() + 3                          # replayed unrolls are older


@pytest.mark.parametrize("fraction, batch_size", [(0.5, 1), (0.3, 2), (1.0, 2), (-0.5, 2)])
def test_a_replay_fraction_that_leaves_no_fresh_unroll_or_splits_one_is_refused(fraction, batch_size):
    with pytest.raises(ValueError, match=r"replay_fraction"):
        impala.Config(replay_fraction=fraction, batch_size=batch_size)


@pytest.mark.parametrize("field, value", [("off_policy_correction", "retrace"), ("off_policy_correction", True),
                                          ("actor_epsilon", 1.5), ("replay_capacity_unrolls", 0)])
def test_bad_off_policy_fields_are_refused_naming_them(field, value):
    with pytest.raises((ValueError, TypeError), match=field):
        impala.Config(**{field: value})


# --- the one-hot cliff ------------------------------------------------------------------------------------------


def test_the_one_hot_cliff_pays_minus_13_on_the_edge_path_and_minus_100_for_a_fall():
    env = gym.make(ONE_HOT_CLIFF)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (48,) and obs.sum() == 1 and obs.argmax() == 36                 # start: bottom left
    total, done = 0.0, False
    for action in [0] + [1] * 11 + [2]:                                                  # up, 11 right, down
        obs, reward, terminated, truncated, _ = env.step(action)
        total += reward
        done = terminated
    assert done and total == -13 == reward_threshold(ONE_HOT_CLIFF)
    env.reset(seed=0)
    obs, reward, terminated, _, _ = env.step(1)                                          # right: into the cliff
    assert reward == -100 and not terminated and obs.argmax() == 36                       # back to the start
    env.reset(seed=0)
    steps = 0
    while True:
        *_, terminated, truncated, _ = env.step(0)                                        # up, forever
        steps += 1
        if terminated or truncated:
            break
    assert truncated and steps == 100
