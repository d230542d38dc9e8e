"""Notebook 06's checkers (rlteach.exercises.scaling) on their reference solutions, on the placeholder, and on
typical wrong answers."""

import pytest

from rlteach.exercises import scaling as ex


def test_placeholder_is_reported_without_error(capsys):
    for check in (ex.check_scaling_statements, ex.check_server_saturation, ex.check_apex_traffic):
        assert check(...).ok is False
        assert "Not attempted yet" in capsys.readouterr().out


def test_scaling_statements(capsys):
    for right in (ex.SOLUTIONS["scaling_statements"](), "acd", "A, c, D", {"d", "c", "a"}):
        assert ex.check_scaling_statements(right).ok is True
        assert "Correct" in capsys.readouterr().out
    for wrong, hint in [("abcd", "GIL"), ("acde", "staleness is 0"), ("acdf", "from the top"),
                        ("ac", "look again at d"), ("xy", "not among"), (3, "give the letters")]:
        assert ex.check_scaling_statements(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_server_saturation_by_hand(capsys):
    e = ex.SERVER_BY_HAND
    worker = 1000 / (e["compute_ms"] + 2 * e["round_trip_ms"])
    server = 1000 / e["apply_ms"]
    assert (worker, server, server / worker) == pytest.approx((100.0, 2000.0, 20.0))
    assert ex.SOLUTIONS["server_saturation"]() == pytest.approx([worker, server, server / worker])
    for right in (ex.SOLUTIONS["server_saturation"](), (100, 2000, 20), [100.0, 2000.0, 20.0]):
        assert ex.check_server_saturation(right).ok is True
        assert "Correct" in capsys.readouterr().out
    for wrong, hint in [((125, 2000, 16), "includes its messages"), ((1000 / 9, 2000, 18), "two round trips"),
                        ((100, 1000, 10), "one gradient at a time"), ((100, 2000, 5), "N = server rate"),
                        ((50, 2000, 40), "1000 ms / (compute"), ((1, 2), "three numbers")]:
        assert ex.check_server_saturation(wrong).ok is False
        assert hint in capsys.readouterr().out


def test_apex_traffic_by_hand(capsys):
    e = ex.APEX_TRAFFIC
    sent = e["env_steps_per_s"] * e["transition_bytes"] + e["env_steps_per_s"] / e["transitions_per_message"] * e[
        "message_overhead_bytes"]
    received = e["env_steps_per_s"] / e["env_steps_per_weight_sync"] * e["weight_bytes"]
    assert (sent, received) == pytest.approx((216_000, 5_400_000))
    assert ex.SOLUTIONS["apex_traffic"]() == pytest.approx([sent, received])
    for right in (ex.SOLUTIONS["apex_traffic"](), (216_000, 5.4e6)):
        assert ex.check_apex_traffic(right).ok is True
        assert "Correct" in capsys.readouterr().out
    for wrong, hint in [((1_000_000, 5.4e6), "once per MESSAGE"), ((200_000, 5.4e6), "fixed cost of each message"),
                        ((216_000, 5.4e8), "not every step"), ((1234, 5.4e6), "transitions/s x"),
                        ((216_000, 1234), "pulls/s x weight_bytes"), ((1, 2, 3), "two numbers")]:
        assert ex.check_apex_traffic(wrong).ok is False
        assert hint in capsys.readouterr().out
