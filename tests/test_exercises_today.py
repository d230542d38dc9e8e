"""Notebook 08's checkers (rlteach.exercises.today) on their reference solutions, on the placeholder, and on
typical wrong answers; the by-hand numbers against a direct computation."""

import torch

from rlteach import ppo
from rlteach.exercises import today as ex


def test_placeholder_is_reported_without_error(capsys):
    for check in (ex.check_clip_slopes, ex.check_allreduce_traffic, ex.check_today_statements):
        assert check(...).ok is False
        assert "Not attempted yet" in capsys.readouterr().out


def test_clip_slopes_are_the_gradients_of_the_packages_objective(capsys):
    e = ex.CLIP_BY_HAND
    slopes = []
    for r, a in zip(e["ratios"], e["advantages"], strict=True):
        ratio = torch.tensor([r], dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(ppo.clipped_surrogate(ratio, torch.tensor([a], dtype=torch.float64),
                                                            e["clip_eps"]), ratio)
        slopes.append(grad.item())
    assert ex.SOLUTIONS["clip_slopes"]() == slopes == [1.0, 0.0, 2.0, 0.0, -1.0]
    assert ex.check_clip_slopes(slopes).ok is True
    assert "Correct" in capsys.readouterr().out
    for wrong, hint in [(e["advantages"], "without the clip"), ([1, 0, 0, 0, 0], "outside the range"),
                        ([1, 0, 2, 0, 0], "step 5"), ([1, 2], "give 5 numbers")]:
        assert ex.check_clip_slopes(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_allreduce_traffic(capsys):
    size = 9_155 * 4
    assert ex.SOLUTIONS["allreduce_traffic"]() == [2 * 3 / 4 * size, 4 * size]
    assert ex.check_allreduce_traffic((54_930, 146_480)).ok is True
    assert "Correct" in capsys.readouterr().out
    for wrong, hint in [((3 / 4 * size, 4 * size), "one half of the ring"), ((6 * size, 4 * size), "one chunk"),
                        ((1000, 4 * size), "2 (N - 1) steps"), ((54_930, size), "every worker sends"),
                        ((1,), "two numbers")]:
        assert ex.check_allreduce_traffic(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_today_statements(capsys):
    for right in (ex.SOLUTIONS["today_statements"](), "acf", {"f", "c", "a"}):
        assert ex.check_today_statements(right).ok is True
        assert "Correct" in capsys.readouterr().out
    for wrong, hint in [("abcf", "never cuts"), ("acdf", "policy_lag"), ("acef", "not latency"),
                        ("ac", "look again at f"), ("z", "not among")]:
        assert ex.check_today_statements(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_the_parameter_count_is_the_package_networks():
    model = ppo.build_model(ppo.Config())
    assert sum(p.numel() for p in model.parameters()) == ex.ALLREDUCE_BY_HAND["parameters"]
