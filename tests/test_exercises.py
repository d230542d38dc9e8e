"""Every checker on its reference solution (right), on the placeholder, and on typical wrong answers."""

import numpy as np

from rlteach import exercises as ex


def test_not_attempted_is_reported_without_error(capsys):
    for check in (ex.check_gae_by_hand, ex.check_returns_function, ex.check_exact_advantage):
        assert check(...) is False
        assert "Not attempted yet" in capsys.readouterr().out


def test_gae_by_hand(capsys):
    assert ex.check_gae_by_hand(ex.SOLUTIONS["gae_by_hand"]()) is True
    assert "Correct" in capsys.readouterr().out
    e = ex.GAE_BY_HAND
    td = [e["rewards"][t] + (0 if e["terminated"][t] else e["gamma"] * e["next_values"][t]) - e["values"][t]
          for t in range(3)]
    assert ex.check_gae_by_hand(td) is False
    assert "TD errors" in capsys.readouterr().out
    assert ex.check_gae_by_hand([1, 2]) is False
    assert "three numbers" in capsys.readouterr().out
    assert ex.check_gae_by_hand([9.0, 9.0, 9.0]) is False


def test_returns_function(capsys):
    assert ex.check_returns_function(ex.SOLUTIONS["returns_function"]) is True
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
        assert ex.check_returns_function(fn) is False
        assert hint in capsys.readouterr().out


def test_exact_advantage(capsys):
    right = ex.SOLUTIONS["exact_advantage"]()
    assert ex.check_exact_advantage(right) is True
    capsys.readouterr()
    assert ex.check_exact_advantage(-right) is False
    assert "sign" in capsys.readouterr().out
    assert ex.check_exact_advantage(np.zeros((3, 2))) is False
    assert "[5, 2]" in capsys.readouterr().out
