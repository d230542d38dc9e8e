"""Notebook 02's teaching tools: gradient estimates with and without a baseline, recording an episode,
and the plots that show them."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from rlteach import monitor, pg_variance
from rlteach import policy_gradient as pg
from rlteach.nets import ActorCritic
from rlteach.plotting import animate_frames, plot_filmstrip, plot_gradient_variance


@pytest.fixture(autouse=True)
def one_torch_thread():
    """These networks are tiny: one thread is fastest, and a busy 2-core machine cannot stall it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def fresh_model(seed=0):
    torch.manual_seed(seed)
    return pg.build_model(pg.Config(seed=seed))


def policy_param_count(model):
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith("value_head"))


def paired_z(a, b):
    """z-scores of the mean difference of two [batches, P] samples drawn on the same episodes."""
    d = a - b
    return d.mean(0) / (d.std(0, ddof=1) / np.sqrt(len(d)) + 1e-12)


# ---------------------------------------------------------------------------------------------------------
# gradient_samples
# ---------------------------------------------------------------------------------------------------------


def test_gradient_samples_shapes_and_determinism():
    model = fresh_model()
    s = pg_variance.gradient_samples(model, num_batches=5, episodes_per_batch=2, seed=3)
    assert set(s.grads) == set(pg_variance.BASELINES)
    for g in s.grads.values():
        assert g.shape == (5, policy_param_count(model)) and np.isfinite(g).all()
    assert s.episode_lengths.shape == (10,) and (s.episode_lengths >= 1).all()
    again = pg_variance.gradient_samples(model, num_batches=5, episodes_per_batch=2, seed=3)
    for name in pg_variance.BASELINES:
        np.testing.assert_array_equal(s.grads[name], again.grads[name])
    other = pg_variance.gradient_samples(model, num_batches=5, episodes_per_batch=2, seed=4, baselines="none")
    assert set(other.grads) == {"none"} and not np.array_equal(other.grads["none"], s.grads["none"])


def test_the_constant_baseline_comes_from_held_out_episodes():
    """b = mean G_t of other episodes of the same policy, played after the batches' own (envs seeded after
    theirs): a baseline made from the batches it is applied to would depend on them."""
    model = fresh_model()
    s = pg_variance.gradient_samples(model, num_batches=6, episodes_per_batch=2, seed=3, constant_episodes=25,
                            baselines="constant")
    held_out = pg_variance.play_episodes(model, "CartPole-v1", 25, seed=3 + 12)
    expected = torch.cat([pg_variance.episode_returns(ep, model, 0.99) for ep in held_out]).mean().item()
    assert s.constant == pytest.approx(expected, rel=1e-6)
    batches = pg_variance.play_episodes(model, "CartPole-v1", 12, seed=3)
    assert [len(ep["rewards"]) for ep in batches] == list(s.episode_lengths)   # the batches' own episodes
    own = torch.cat([pg_variance.episode_returns(ep, model, 0.99) for ep in batches]).mean().item()
    assert s.constant != pytest.approx(own)
    more = pg_variance.gradient_samples(model, num_batches=6, episodes_per_batch=2, seed=3, constant_episodes=40,
                               baselines="constant")
    np.testing.assert_array_equal(more.episode_lengths, s.episode_lengths)   # same batches, other constant
    assert more.constant != s.constant


def test_played_episodes_are_whole_episodes():
    episodes = pg_variance.play_episodes(fresh_model(), "CartPole-v1", num_episodes=6, seed=0)
    for ep in episodes:
        T = len(ep["rewards"])
        assert ep["obs"].shape == (T, 4) and ep["actions"].shape == (T,)
        assert ep["rewards"].sum() == T                     # CartPole: reward 1 per step
        assert ep["terminated"] != ep["truncated"]          # ended one way or the other
        assert set(np.unique(ep["actions"])) <= {0, 1}


def test_a_critic_that_predicts_the_constant_is_the_constant_baseline():
    model = fresh_model()
    first = pg_variance.gradient_samples(model, num_batches=4, episodes_per_batch=3, baselines="constant")
    last = model.value_head[-1]
    with torch.no_grad():                                   # V(s) = the constant for every s
        last.weight.zero_()
        last.bias.fill_(first.constant)
    s = pg_variance.gradient_samples(model, num_batches=4, episodes_per_batch=3, baselines=("constant", "critic"))
    np.testing.assert_allclose(s.grads["critic"], s.grads["constant"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(s.grads["constant"], first.grads["constant"])  # the policy did not change
    assert 0 < s.constant < 1 / (1 - 0.99)                  # a mean discounted return of CartPole


def test_the_estimate_is_a_sum_over_steps_averaged_over_episodes():
    model = fresh_model()
    one = pg_variance.gradient_samples(model, num_batches=4, episodes_per_batch=1, baselines="none", seed=5)
    two = pg_variance.gradient_samples(model, num_batches=2, episodes_per_batch=2, baselines="none", seed=5)
    np.testing.assert_allclose(two.grads["none"], (one.grads["none"][0::2] + one.grads["none"][1::2]) / 2,
                               rtol=1e-4, atol=1e-5)


def test_fit_critic_fits_the_returns_and_leaves_the_policy_alone():
    model = fresh_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    critic = pg_variance.fit_critic(model, num_episodes=60, steps=150)
    for k, v in model.state_dict().items():                 # the model itself is untouched
        torch.testing.assert_close(v, before[k])
    for k, v in critic.state_dict().items():
        if k.startswith("policy_head"):
            torch.testing.assert_close(v, before[k])
    episodes = pg_variance.play_episodes(model, "CartPole-v1", 40, seed=0)   # fresh episodes: a held-out check
    obs = torch.as_tensor(np.concatenate([ep["obs"] for ep in episodes]), dtype=torch.float32)
    G = torch.cat([pg_variance.episode_returns(ep, model, 0.99) for ep in episodes])
    with torch.no_grad():
        mse_fit = ((critic(obs)[1] - G) ** 2).mean().item()
        mse_fresh = ((model(obs)[1] - G) ** 2).mean().item()
    assert mse_fit < 0.8 * G.var().item() and mse_fit < 0.2 * mse_fresh


def test_baselines_cut_variance_and_keep_the_mean():
    model = fresh_model()
    s = pg_variance.gradient_samples(model, num_batches=300, episodes_per_batch=1, critic=pg_variance.fit_critic(model))
    var = {name: g.var(0).sum() for name, g in s.grads.items()}
    assert var["constant"] < 0.8 * var["none"] and var["critic"] < 0.9 * var["constant"], var
    for name in ("constant", "critic"):                     # the baseline's own part averages to ~0
        z = paired_z(s.grads[name], s.grads["none"])
        assert np.mean(np.abs(z) < 3) > 0.98 and np.abs(z).max() < 6, name


@pytest.mark.parametrize("kwargs, name", [
    ({"baselines": ("none", "average")}, "baselines"),
    ({"num_batches": 1}, "num_batches"),
    ({"episodes_per_batch": 0}, "episodes_per_batch"),
    ({"gamma": 1.5}, "gamma"),
    ({"env_id": "NoSuchEnv-v0"}, "env_id"),
    ({"env_id": "Acrobot-v1"}, "model"),                   # 6 numbers per observation, the model takes 4
    ({"critic": ActorCritic(6, 3)}, "critic"),
])
def test_bad_input_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        pg_variance.gradient_samples(fresh_model(), **kwargs)


@pytest.mark.parametrize("kwargs, name", [({"num_episodes": 0}, "num_episodes"), ({"steps": 0}, "steps"),
                                          ({"gamma": -0.1}, "gamma"), ({"env_id": "Acrobot-v1"}, "model")])
def test_fit_critic_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        pg_variance.fit_critic(fresh_model(), **kwargs)


def test_a_model_that_is_not_an_actor_critic_is_a_type_error():
    with pytest.raises(TypeError, match="model"):
        pg_variance.gradient_samples(torch.nn.Linear(4, 2))


def test_plot_gradient_variance_draws_the_numbers():
    rng = np.random.default_rng(0)
    grads = {"none": rng.normal(1.0, 2.0, (50, 6)), "critic": rng.normal(1.0, 0.5, (50, 6))}
    fig = plot_gradient_variance(grads)
    left, right = fig.axes
    heights = [p.get_height() for p in left.patches]
    np.testing.assert_allclose(heights, [grads["none"].var(0).sum(), grads["critic"].var(0).sum()])
    assert [t.get_text() for t in left.get_xticklabels()] == ["none", "critic"]
    assert len(right.get_lines()) == 2                      # one dashed mean per baseline
    plt.close(fig)
    samples = pg_variance.GradientSamples(grads, np.ones(3), 0.0)     # the GradientSamples itself works too
    plt.close(plot_gradient_variance(samples))


# ---------------------------------------------------------------------------------------------------------
# Recording an episode and showing it
# ---------------------------------------------------------------------------------------------------------


def always_left(obs):
    return np.zeros(len(obs), dtype=int)


def test_record_episode_frames_steps_and_return():
    ep = monitor.record_episode(always_left, "CartPole-v1", seed=0)
    n = int(ep.episode_return)
    assert 5 <= n < 30                                      # pushing left, the pole falls quickly
    assert ep.steps == list(range(n + 1)) and len(ep.frames) == n + 1
    assert ep.frames[0].dtype == np.uint8 and ep.frames[0].ndim == 3 and ep.frames[0].shape[2] == 3
    thin = monitor.record_episode(always_left, "CartPole-v1", seed=0, every=4)
    assert thin.steps == list(range(0, n, 4)) + [n]         # every 4th step, and the last
    np.testing.assert_array_equal(thin.frames[-1], ep.frames[-1])
    short = monitor.record_episode(always_left, "CartPole-v1", seed=0, max_steps=3)
    assert short.episode_return == 3.0 and short.steps == [0, 1, 2, 3]
    # how it ended, and where: pushed left, the pole leans right past CartPole's 12 degrees
    assert (ep.ending, thin.ending, short.ending) == ("terminated", "terminated", "max_steps")
    assert np.degrees(ep.final_obs[2]) > 12 and abs(np.degrees(short.final_obs[2])) < 12
    timed_out = monitor.record_episode(always_left, "CartPole-v1", seed=0, env_kwargs={"max_episode_steps": 4})
    assert timed_out.ending == "truncated" and timed_out.steps[-1] == 4


@pytest.mark.parametrize("kwargs, name", [({"every": 0}, "every"), ({"max_steps": 0}, "max_steps"),
                                          ({"env_id": "NoSuchEnv-v0"}, "env_id")])
def test_record_episode_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        monitor.record_episode(always_left, **kwargs)


def test_filmstrip_and_animation():
    frames = [np.full((20, 30, 3), 10 * i, dtype=np.uint8) for i in range(10)]
    fig = plot_filmstrip(frames, num=4, steps=list(range(0, 100, 10)))
    assert len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes] == ["step 0", "step 30", "step 60", "step 90"]
    plt.close(fig)
    fig = plot_filmstrip(frames, num=4, steps=list(range(0, 100, 10)), ending="terminated")
    assert [ax.get_title() for ax in fig.axes] == ["step 0", "step 30", "step 60", "step 90: terminated"]
    plt.close(fig)
    assert len(plot_filmstrip(frames[:2], num=6).axes) == 2
    open_before = plt.get_fignums()
    html = animate_frames(frames[:3], fps=10)
    assert "<script" in html and "anim" in html.lower()
    assert plt.get_fignums() == open_before                 # the animation's figure is closed
    for fn in (plot_filmstrip, animate_frames):
        with pytest.raises(ValueError, match="frames"):
            fn([])
