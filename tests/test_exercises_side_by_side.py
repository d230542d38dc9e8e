"""Notebook 07's checkers (rlteach.exercises.side_by_side) on their reference solutions, on the placeholder,
and on typical wrong answers."""

import pytest

from rlteach.exercises import side_by_side as ex


def test_placeholder_is_reported_without_error(capsys):
    for check in (ex.check_workload_statements, ex.check_stepping, ex.check_busy_speedups):
        assert check(...).ok is False
        assert "Not attempted yet" in capsys.readouterr().out


def test_workload_statements(capsys):
    for right in (ex.SOLUTIONS["workload_statements"](), "ace", {"e", "c", "a"}):
        assert ex.check_workload_statements(right).ok is True
        assert "Correct" in capsys.readouterr().out
    for wrong, hint in [("abce", "holds the GIL"), ("acde", "measuring instrument"), ("acef", "10 microseconds"),
                        ("ac", "look again at e"), ("z", "not among")]:
        assert ex.check_workload_statements(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_stepping_by_hand(capsys):
    e = ex.STEPPING_BY_HAND
    sync = 1000 / (e["step_ms"] + e["overhead_ms"])                                       # 909.1
    asynchronous = 8 * 1000 / (e["step_ms"] + 8 * (e["overhead_ms"] + e["message_ms"]))  # 3636.4
    assert (sync, asynchronous) == pytest.approx((909.0909, 3636.3636))
    for right in (ex.SOLUTIONS["stepping"](), (sync, asynchronous)):
        assert ex.check_stepping(right).ok is True
        assert "Correct" in capsys.readouterr().out
    for wrong, hint in [((1000, asynchronous), "one after another"), ((sync, 8000), "a message for every env"),
                        ((sync, 8000 / 1.8), "num_envs x"), ((1, 2, 3), "two numbers")]:
        assert ex.check_stepping(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_busy_speedups(capsys):
    assert ex.SOLUTIONS["busy_speedups"]() == [1.0, 2.0]
    assert ex.check_busy_speedups((1, 2)).ok is True
    assert "Correct" in capsys.readouterr().out
    for wrong, hint in [((8, 2), "only one runs at a time"), ((1, 8), "two cores"), ("x", "two numbers")]:
        assert ex.check_busy_speedups(wrong).ok is False
        assert hint in capsys.readouterr().out
