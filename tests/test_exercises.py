"""Every checker on its reference solution (right), on the placeholder, and on typical wrong answers."""

import numpy as np
import pytest

from rlteach import exercises as ex


def test_not_attempted_is_reported_without_error(capsys):
    for check in (ex.check_gae_by_hand, ex.check_returns_function, ex.check_exact_advantage):
        assert check(...).ok is False
        assert "Not attempted yet" in capsys.readouterr().out


def test_a_verdict_is_truthy_when_right_and_shows_nothing_more_in_a_notebook(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    right, wrong = ex.check_gae_by_hand(ex.SOLUTIONS["gae_by_hand"]()), ex.check_gae_by_hand([0, 0, 0])
    assert bool(right) and not bool(wrong) and right.message.startswith("Correct!")
    assert repr(wrong) == "Verdict(ok=False)"
    shell = InteractiveShell.instance()
    capsys.readouterr()
    shell.run_cell("from rlteach import exercises\nexercises.check_gae_by_hand([0, 0, 0])")  # a cell's last value
    assert capsys.readouterr().out.strip().startswith("Not yet:")
    shell.run_cell("1 + 1")                                                   # what a shown value looks like
    assert "2" in capsys.readouterr().out
    shell.run_cell("exercises.check_gae_by_hand([0, 0, 0])")
    assert "Verdict" not in capsys.readouterr().out, "the checker's verdict added output under its message"
    InteractiveShell.clear_instance()


def test_gae_by_hand(capsys):
    assert ex.check_gae_by_hand(ex.SOLUTIONS["gae_by_hand"]()).ok is True
    assert "Correct" in capsys.readouterr().out
    e = ex.GAE_BY_HAND
    td = [e["rewards"][t] + (0 if e["terminated"][t] else e["gamma"] * e["next_values"][t]) - e["values"][t]
          for t in range(3)]
    assert ex.check_gae_by_hand(td).ok is False
    assert "TD errors" in capsys.readouterr().out
    assert ex.check_gae_by_hand([1, 2]).ok is False
    assert "three numbers" in capsys.readouterr().out
    assert ex.check_gae_by_hand([9.0, 9.0, 9.0]).ok is False


def test_returns_function(capsys):
    assert ex.check_returns_function(ex.SOLUTIONS["returns_function"]).ok is True
    assert "Correct" in capsys.readouterr().out

    def truncation_as_termination(r, nv, term, trunc, gamma):
        return ex.SOLUTIONS["returns_function"](r, nv, term | trunc, np.zeros_like(trunc), gamma)

    def ignores_truncation(r, nv, term, trunc, gamma):
        return ex.SOLUTIONS["returns_function"](r, nv, term, np.zeros_like(trunc), gamma)

    def ignores_termination(r, nv, term, trunc, gamma):
        return ex.SOLUTIONS["returns_function"](r, nv, np.zeros_like(term), trunc, gamma)

    def crashes(*args):
        raise RuntimeError("boom")

    for fn, hint in [(truncation_as_termination, "like a termination"), (ignores_truncation, "flowed back"),
                     (ignores_termination, "no future"), (crashes, "raised RuntimeError"),
                     (lambda *a: np.zeros(2), "one value per step"), (42, "pass your function")]:
        assert ex.check_returns_function(fn).ok is False
        assert hint in capsys.readouterr().out


def test_exact_advantage(capsys):
    right = ex.SOLUTIONS["exact_advantage"]()
    assert ex.check_exact_advantage(right).ok is True
    capsys.readouterr()
    assert ex.check_exact_advantage(-right).ok is False
    assert "sign" in capsys.readouterr().out
    assert ex.check_exact_advantage(np.zeros((3, 2))).ok is False
    assert "[5, 2]" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------------
# 02 policy gradient
# ---------------------------------------------------------------------------------------------------------


def test_policy_gradient_checkers_report_the_placeholder(capsys):
    for check in (ex.check_reinforce_loss, ex.check_valid_mask, ex.check_unbiased_baselines):
        assert check(...).ok is False
        assert "Not attempted yet" in capsys.readouterr().out


def test_reinforce_loss_by_hand(capsys):
    e = ex.REINFORCE_BY_HAND
    by_hand = -np.mean([(g - e["baseline"]) * lp for g, lp in zip(e["returns"], e["log_probs"], strict=True)])
    assert ex.SOLUTIONS["reinforce_loss"]() == pytest.approx(by_hand, abs=1e-4)
    assert ex.check_reinforce_loss(by_hand).ok is True
    assert "Correct" in capsys.readouterr().out
    no_baseline = -np.mean([g * lp for g, lp in zip(e["returns"], e["log_probs"], strict=True)])
    for wrong, hint in [(-by_hand, "sign is flipped"), (3 * by_hand, "sum over the 3 steps"),
                        (no_baseline, "subtract the baseline"), ([1.0, 2.0], "one number"),
                        ("x", "one number"), (42.0, "weight each log pi")]:
        assert ex.check_reinforce_loss(wrong).ok is False
        assert hint in capsys.readouterr().out


class ScriptedVecEnv:
    """Stands in for a gymnasium vector env: returns AUTORESET_ROLLOUT's flags step by step."""

    def __init__(self):
        self.t = 0

    def step(self, actions):
        e = ex.AUTORESET_ROLLOUT
        term, trunc = np.array(e["terminated"][self.t]), np.array(e["truncated"][self.t])
        self.t += 1
        return np.zeros((2, 4), np.float32), np.ones(2), term, trunc, {}


def test_valid_mask_solution_is_what_collect_rollout_builds(capsys):
    from rlteach import policy_gradient as pg
    from rlteach.nets import ActorCritic

    state = {"obs": np.zeros((2, 4), np.float32), "after_end": np.array(ex.AUTORESET_ROLLOUT["after_end"]),
             "episode_return": np.zeros(2)}
    rollout = pg.collect_rollout(ScriptedVecEnv(), ActorCritic(4, 2), state, 6, "cpu")
    np.testing.assert_array_equal(rollout["valid"], ex.SOLUTIONS["valid_mask"]())
    assert ex.check_valid_mask(rollout["valid"]).ok is True
    assert "Correct" in capsys.readouterr().out


def test_valid_mask_wrong_answers(capsys):
    e = ex.AUTORESET_ROLLOUT
    ends = np.array(e["terminated"]) | np.array(e["truncated"])
    right = np.array(ex.SOLUTIONS["valid_mask"]())
    no_carry = right.copy()
    no_carry[0, 1] = True                       # forgot that env 1's first step here is a reset
    only_terminated = right.copy()
    only_terminated[5, 0] = True                # the step after env 0's truncation
    for wrong, hint in [(~ends, "ENDS an episode"), (only_terminated, "truncated episode is reset"),
                        (no_carry, "previous rollout"), (np.ones((6, 2), bool), "autoreset steps"),
                        (np.zeros((6, 2), bool), "walk down each column"), (np.ones((2, 6)), "[6, 2]")]:
        assert ex.check_valid_mask(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_unbiased_baselines(capsys):
    for right in (ex.SOLUTIONS["unbiased_baselines"](), {"a", "b", "d"}, "abd", "a, b, D", ("d", "b", "a")):
        assert ex.check_unbiased_baselines(right).ok is True
        assert "Correct" in capsys.readouterr().out
    for wrong, hint in [({"a", "b", "d", "e"}, "always 0"), ({"a", "b", "c", "d"}, "depends on the action"),
                        ({"a", "b"}, "previous batch"), ({"a", "d"}, "function of s_t"), ({"z"}, "not among"),
                        (7, "give the letters")]:
        assert ex.check_unbiased_baselines(wrong).ok is False
        assert hint in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------------
# 03 A3C
# ---------------------------------------------------------------------------------------------------------


def test_a3c_checkers_report_the_placeholder(capsys):
    for check in (ex.check_rmsprop_step, ex.check_staleness, ex.check_backend_statements):
        assert check(...).ok is False
        assert "Not attempted yet" in capsys.readouterr().out


def test_rmsprop_step_by_hand(capsys):
    e = ex.RMSPROP_BY_HAND
    theta, v, g = (np.array(e[k]) for k in ("theta", "v", "g"))
    v_new = e["decay"] * v + (1 - e["decay"]) * g**2                    # the module docstring's formula
    theta_new = theta - e["lr"] * g / np.sqrt(v_new + e["eps"])
    np.testing.assert_allclose(ex.SOLUTIONS["rmsprop_step"](), [theta_new, v_new], atol=1e-4)
    for right in (ex.SOLUTIONS["rmsprop_step"](), (theta_new, v_new), [theta_new.tolist(), v_new.tolist()]):
        assert ex.check_rmsprop_step(right).ok is True
        assert "Correct" in capsys.readouterr().out
    torch_form = theta - e["lr"] * g / (np.sqrt(v_new) + e["eps"])
    old_v = theta - e["lr"] * g / np.sqrt(v + e["eps"])
    no_root = theta - e["lr"] * g / (v_new + e["eps"])
    uphill = theta + e["lr"] * g / np.sqrt(v_new + e["eps"])
    no_one_minus_decay = e["decay"] * v + g**2
    for wrong, hint in [((torch_form, v_new), "eps INSIDE the root"), ((old_v, v_new), "NEW v"),
                        ((no_root, v_new), "square ROOT"), ((uphill, v_new), "the sign"),
                        ((v_new, theta_new), "other way round"), ((theta_new, no_one_minus_decay), "(1 - decay)"),
                        ((theta, v_new), "new_v is right"), ((theta, v), "first v <-"),
                        ([1.0, 2.0], "two lists of three numbers")]:
        assert ex.check_rmsprop_step(wrong).ok is False
        assert hint in capsys.readouterr().out
    for message in (ex.check_rmsprop_step(w).message for w in [(theta_new, v_new), (torch_form, v_new)]):
        assert "grad" not in message          # notebook 02's letters: g the gradient, v the average of g^2


def test_staleness_by_hand_follows_the_workers_rule(capsys):
    right = ex.SOLUTIONS["staleness"]()
    assert right == [0, 1, 2, 2, 2, 1, 3]
    assert ex.check_staleness(right).ok is True
    assert "Correct" in capsys.readouterr().out
    for wrong, hint in [([r + 1 for r in right], "update itself"), (list(range(7)), "every update before it"),
                        ([0, 0, 0, 1, 2, 4, 3], "already contained"), ([0, 1, 2, 2, 2, 1, 2], "row 6 is off"),
                        ([0, 1], "7 numbers")]:
        assert ex.check_staleness(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_backend_statements(capsys):
    for right in (ex.SOLUTIONS["backend_statements"](), "bc", "B, c", {"c", "b"}):
        assert ex.check_backend_statements(right).ok is True
        assert "Correct" in capsys.readouterr().out
    for wrong, hint in [("abc", "ONE thread"), ("bcd", "optimizer step"), ("bce", "microseconds"),
                        ("bcf", "take turns on the cores"), ("b", "look again at c"), ("xy", "not among"),
                        (3, "give the letters")]:
        assert ex.check_backend_statements(wrong).ok is False
        assert hint in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------------
# 04 Ape-X
# ---------------------------------------------------------------------------------------------------------


def test_apex_checkers_report_the_placeholder(capsys):
    for check in (ex.check_priorities, ex.check_ladder_epsilon, ex.check_nstep_targets, ex.check_apex_statements):
        assert check(...).ok is False
        assert "Not attempted yet" in capsys.readouterr().out


def test_priorities_by_hand(capsys):
    e = ex.PRIORITY_BY_HAND
    p = np.array(e["p"])
    P = p ** e["alpha"] / (p ** e["alpha"]).sum()                    # the replay module's formulas, literally
    w = (len(p) * P) ** -e["beta"]
    np.testing.assert_allclose(ex.SOLUTIONS["priorities"](), [P, w / w.max()], atol=1e-4)
    by_hand = [[4 / 9, 2 / 9, 1 / 9, 2 / 9], [0.5, 0.5**0.5, 1, 0.5**0.5]]          # square roots, N = 4
    np.testing.assert_allclose(ex.SOLUTIONS["priorities"](), by_hand, atol=1e-4)
    for right in (ex.SOLUTIONS["priorities"](), (P, w / w.max()), [P.tolist(), (w / w.max()).tolist()]):
        assert ex.check_priorities(right).ok is True
        assert "Correct" in capsys.readouterr().out
    no_alpha = p / p.sum()
    w_no_alpha = (4 * no_alpha) ** -e["beta"]
    plus_beta = (4 * P) ** e["beta"]
    for wrong, hint in [((P, w), "divide the weights by their largest"), ((P, plus_beta / plus_beta.max()), "-beta"),
                        ((no_alpha, w_no_alpha / w_no_alpha.max()), "power alpha"),
                        ((p ** e["alpha"], w / w.max()), "add up to 1"), ((w / w.max(), P), "other way round"),
                        ((P, np.ones(4)), "P is right"), ((np.ones(4), np.ones(4)), "first P(i)"),
                        ([1.0, 2.0], "two lists of four numbers")]:
        assert ex.check_priorities(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_ladder_epsilon(capsys):
    e = ex.LADDER_QUESTION
    right = e["eps"] ** (1 + e["actor"] / (e["num_actors"] - 1) * e["exponent"])
    assert ex.SOLUTIONS["ladder_epsilon"]() == pytest.approx(right, rel=1e-4) == pytest.approx(0.4**4.5, rel=1e-4)
    for answer in (right, ex.SOLUTIONS["ladder_epsilon"](), np.float32(right)):
        assert ex.check_ladder_epsilon(answer).ok is True
        assert "Correct" in capsys.readouterr().out
    for wrong, hint in [(0.4 ** (1 + 2 / 5 * 7), "not by N"), (0.4 ** (2 / 4 * 7), "without the 1 +"),
                        (0.4 ** (1 + 1 / 4 * 7), "neighbouring actor"), (0.4 ** (1 + 3 / 4 * 7), "neighbouring"),
                        (0.4 * 4.5, "RAISED"), (0.5, "eps_i = eps **"), ([0.1, 0.2], "one number"),
                        ("x", "one number")]:
        assert ex.check_ladder_epsilon(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_nstep_targets_by_hand(capsys):
    e = ex.NSTEP_BY_HAND
    r, g, q3, q4 = e["rewards"], e["gamma"], e["bootstrap"][3], e["bootstrap"][4]
    g0 = r[0] + g * r[1] + g**2 * r[2] + g**3 * q3                     # the only window inside the episode
    terminated = [g0, r[1] + g * r[2] + g**2 * r[3], r[2] + g * r[3], r[3]]
    truncated = [g0, terminated[1] + g**3 * q4, terminated[2] + g**2 * q4, terminated[3] + g * q4]
    np.testing.assert_allclose(ex.SOLUTIONS["nstep_targets"](), [terminated, truncated])
    assert ex.check_nstep_targets((terminated, truncated)).ok is True
    assert "Correct" in capsys.readouterr().out
    gamma_n = [g0, truncated[1], terminated[2] + g**3 * q4, terminated[3] + g**3 * q4]
    no_g0_bootstrap = [g0 - g**3 * q3] + terminated[1:]
    for wrong, hint in [((terminated, terminated), "TRUNCATED episode was cut"),
                        ((truncated, truncated), "TERMINATED episode has no future"),
                        ((truncated, terminated), "other way round"), ((terminated, gamma_n), "gamma^k, not gamma^n"),
                        ((terminated, np.zeros(4)), "terminated case is right"),
                        ((no_g0_bootstrap, truncated), "truncated case is right"),
                        ((np.zeros(4), np.ones(4)), "G_0 covers"), ([1.0], "two lists of four numbers")]:
        assert ex.check_nstep_targets(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_apex_statements(capsys):
    for right in (ex.SOLUTIONS["apex_statements"](), "ace", "A, c, E", {"e", "c", "a"}):
        assert ex.check_apex_statements(right).ok is True
        assert "Correct" in capsys.readouterr().out
    for wrong, hint in [("abce", "overwritten first"), ("acde", "FIRST priority"), ("acef", "fixed"),
                        ("ac", "look again at e"), ("xy", "not among"), (3, "give the letters")]:
        assert ex.check_apex_statements(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_cliffwalk_gap(capsys, monkeypatch):
    from rlteach import blind_cliffwalk as bc
    from rlteach.exercises import apex

    question = {"ns": (2, 3, 4), "next_n": 5, "seeds": (0, 1, 2), "within_factor": 1.5}   # small: fast
    monkeypatch.setattr(apex, "CLIFFWALK_GAP", question)
    apex._cliffwalk_medians.cache_clear()
    try:
        def median(replay):
            return np.median([bc.updates_to_learn(5, replay, seed) for seed in (0, 1, 2)])

        right = median("uniform") / median("oracle")                       # the real gap, computed here
        assert apex.SOLUTIONS["cliffwalk_gap"]() == pytest.approx(right, abs=0.05)
        for answer in (right, 1.4 * right, right / 1.4, np.float32(right)):
            assert apex.check_cliffwalk_gap(answer).ok is True
            out = capsys.readouterr().out
            assert "Correct" in out and f"{right:.3g}" in out
        for wrong, hint in [(right / 2, "too small"), (2 * right, "too large"), (-1, "positive number"),
                            ("x", "positive number"), ([1, 2], "positive number")]:
            assert apex.check_cliffwalk_gap(wrong).ok is False
            assert hint in capsys.readouterr().out
        assert apex.check_cliffwalk_gap(...).ok is False
        assert "Not attempted yet" in capsys.readouterr().out
    finally:
        apex._cliffwalk_medians.cache_clear()


# ---------------------------------------------------------------------------------------------------------
# 05 IMPALA
# ---------------------------------------------------------------------------------------------------------


def test_impala_checkers_report_the_placeholder(capsys):
    for check in (ex.check_weights, ex.check_vs_by_hand, ex.check_lag, ex.check_impala_statements,
                  ex.check_cliff_statements):
        assert check(...).ok is False
        assert "Not attempted yet" in capsys.readouterr().out


def test_weights_by_hand(capsys):
    e = ex.WEIGHTS_BY_HAND
    ratio = np.exp(np.array(e["target_log_probs"]) - np.array(e["behaviour_log_probs"]))
    np.testing.assert_allclose(ratio, [1.5, 0.5, 2.0, 1.0], atol=1e-3)
    rho, c = np.minimum(e["clip_rho"], ratio), np.minimum(e["clip_c"], ratio)
    np.testing.assert_allclose(ex.SOLUTIONS["weights"](), [[1.2, 0.5, 1.2, 1.0], [1.0, 0.5, 1.0, 1.0]], atol=1e-4)
    for right in (ex.SOLUTIONS["weights"](), (rho, c), [rho.tolist(), c.tolist()]):
        assert ex.check_weights(right).ok is True
        assert "Correct" in capsys.readouterr().out
    log_ratio = np.log(ratio)
    for wrong, hint in [((c, rho), "swapped"), ((np.minimum(1.2, 1 / ratio), np.minimum(1.0, 1 / ratio)), "pi/mu"),
                        ((log_ratio, log_ratio), "exp()"), ((ratio, ratio), "now clip them"),
                        ((rho, ratio), "rho is right"), ((ratio, c), "c is right"),
                        ((np.ones(4), np.zeros(4)), "first pi/mu"), ([1.0, 2.0], "two lists of four numbers")]:
        assert ex.check_weights(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_vs_by_hand_follows_the_recursion(capsys):
    e = ex.VS_BY_HAND
    gamma, V, r = e["gamma"], e["values"], e["rewards"]
    rho = np.minimum(e["clip_rho"], e["ratios"])
    c = np.minimum(e["clip_c"], e["ratios"])
    v_next = V[1:] + [e["bootstrap_value"]]
    delta = [rho[t] * (r[t] + gamma * v_next[t] - V[t]) for t in range(3)]
    v2 = V[2] + delta[2]
    v1 = V[1] + delta[1] + gamma * c[1] * (v2 - V[2])
    v0 = V[0] + delta[0] + gamma * c[0] * (v1 - V[1])
    np.testing.assert_allclose(ex.SOLUTIONS["vs_by_hand"](), [v0, v1, v2], atol=1e-4)
    np.testing.assert_allclose([v0, v1, v2], [2.4796, 1.805, 2.9], atol=1e-4)
    assert ex.check_vs_by_hand([v0, v1, v2]).ok is True
    assert "Correct" in capsys.readouterr().out
    g2 = r[2] + gamma * e["bootstrap_value"]                               # the n-step return: no ratios
    g1 = r[1] + gamma * g2
    for wrong, hint in [([r[0] + gamma * g1, g1, g2], "on-policy n-step return"), ([3.249, 1.805, 2.9], "clipped"),
                        ([2.6245, 1.805, 2.9], "c-bar = 0.8"), ([1.9, 1.85, 2.9], "V + delta_s V only"),
                        ([0.0, 0.0, 2.9], "v_2 is right"), ([0.0, 0.0, 0.0], "start at the last step"),
                        ([1.0], "three numbers")]:
        assert ex.check_vs_by_hand(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_lag_by_hand(capsys):
    right = ex.SOLUTIONS["lag"]()
    assert right == [2, 3, 4, 2, 3, 5, 3, 4]
    assert ex.check_lag(right).ok is True
    assert "Correct" in capsys.readouterr().out
    e = ex.LAG_BY_HAND
    every_unroll = [u - p for u, p in zip(e["learner_version_when_used"], e["published_at_start"], strict=True)]
    off = list(right)
    off[4] += 1
    for wrong, hint in [(every_unroll, "pulls before every unroll"), ([-x for x in right], "the sign"),
                        (off, "unroll 4 is off"), ([1, 2], "8 numbers")]:
        assert ex.check_lag(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_impala_statements(capsys):
    for right in (ex.SOLUTIONS["impala_statements"](), "ace", "A, c, E", {"e", "c", "a"}):
        assert ex.check_impala_statements(right).ok is True
        assert "Correct" in capsys.readouterr().out
    for wrong, hint in [("abce", "other way round"), ("acde", "time limit only cuts"), ("acef", "keeps every unroll"),
                        ("ac", "look again at e"), ("xy", "not among"), (3, "give the letters")]:
        assert ex.check_impala_statements(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_cliff_statements(capsys):
    for right in (ex.SOLUTIONS["cliff_statements"](), "abe", {"e", "b", "a"}):
        assert ex.check_cliff_statements(right).ok is True
        assert "Correct" in capsys.readouterr().out
    for wrong, hint in [("abce", "never reaches G"), ("abde", "near 0"), ("ab", "look again at e")]:
        assert ex.check_cliff_statements(wrong).ok is False
        assert hint in capsys.readouterr().out
