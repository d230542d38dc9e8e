"""rlteach.lab, the communication lab: the transports deliver exactly what was sent and report sane numbers; the
Ape-X knob sweep's counts move the way the knobs say; the plots draw. Small budgets: these check, they do not
benchmark."""

import math
import pickle

import matplotlib.pyplot as plt
import numpy as np
import pytest
from procs import live_children

from rlteach import lab
from rlteach.lab.transports import SharedMemoryTransport, _select_payloads
from rlteach.nets import ActorCritic, QNetwork
from rlteach.plotting import plot_knobs, plot_transport


def state_dict_bytes(model) -> int:
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def check_rows(rows, transports, payloads):
    assert [(r["transport"], r["payload"]) for r in rows] == [(t, p) for t in transports for p in payloads]
    for r in rows:
        for key in ("latency_s", "latency_min_s", "bytes_per_s", "messages_per_s"):
            assert math.isfinite(r[key]) and r[key] > 0, (r["transport"], r["payload"], key, r[key])
        assert r["latency_min_s"] <= r["latency_s"]
        # the repeats behind the medians, for rlteach.verdict.compare
        assert r["latency_min_s"] == min(r["latencies_s"])
        assert r["latency_s"] == pytest.approx(np.median(r["latencies_s"]))
        assert len(r["streams_bytes_per_s"]) == 3
        assert r["bytes_per_s"] == pytest.approx(np.median(r["streams_bytes_per_s"]))
        assert r["messages"] >= 10
        assert r["verified"] is True, f"{r['transport']} did not deliver {r['payload']} exactly"


def test_payloads_are_the_real_sizes():
    payloads = lab.default_payloads()
    sizes = {name: lab.payload_bytes(arrays) for name, (_, arrays) in payloads.items()}
    assert sizes["A3C/IMPALA weights"] == state_dict_bytes(ActorCritic(4, 2, (64, 64))) == 9155 * 4
    assert sizes["Ape-X weights"] == state_dict_bytes(QNetwork(4, 2, (256, 256))) == 67586 * 4
    assert 4e6 <= sizes["4 MB weights"] == state_dict_bytes(QNetwork(4, 2, (1024, 1024))) <= 4.5e6
    # 50 transitions: obs and next_obs 2 x 4 float32, action int64, reward, discount, done float32, priority float64
    assert sizes["Ape-X message (50 transitions)"] == 50 * (2 * 16 + 8 + 3 * 4 + 8)
    # 20 steps x 4 envs: obs and final_obs 2 x 4 float32, int64 action, float32 log-prob, float64 reward,
    # 2 bools; plus last_obs [4, 4] float32
    assert sizes["IMPALA unroll (20 x 4 envs)"] == 80 * (2 * 16 + 8 + 4 + 8 + 2) + 64
    kinds = {name: kind for name, (kind, _) in payloads.items()}
    assert sorted(kinds.values()) == ["trajectory"] * 2 + ["weights"] * 3


def test_checksum_tells_payloads_apart():
    a = {"w": np.arange(10, dtype=np.float32), "b": np.zeros(3, dtype=np.int64)}
    same = {k: v.copy() for k, v in a.items()}
    changed = {**same, "w": same["w"].copy()}
    changed["w"][7] += 1e-3
    assert lab.checksum(a) == lab.checksum(same)
    assert lab.checksum(a) != lab.checksum(changed)
    assert lab.checksum(a) != lab.checksum({**a, "w": a["w"].astype(np.float64)})   # same values


@pytest.mark.timeout(120)
def test_queue_and_shared_memory_transports_deliver_exactly_and_report_sane_numbers():
    names = ["A3C/IMPALA weights", "Ape-X message (50 transitions)"]
    rows = lab.transport_benchmark(names, repeats=2, transports=("mp_queue", "shared_memory"),
                                   stream_seconds=0.005)
    check_rows(rows, ("mp_queue", "shared_memory"), names)
    payloads = lab.default_payloads()
    for r in rows:
        arrays = payloads[r["payload"]][1]
        assert r["payload_bytes"] == lab.payload_bytes(arrays)
        assert r["pickled_bytes"] == len(pickle.dumps(arrays)) > r["payload_bytes"]
    assert rows[0]["payload_bytes"] == state_dict_bytes(ActorCritic(4, 2, (64, 64)))
    assert live_children() == []


@pytest.mark.timeout(120)
def test_shared_memory_child_sees_each_new_payload_not_a_stale_one():
    arrays = {"w": np.random.default_rng(0).random(1000, dtype=np.float32), "flags": np.zeros(7, dtype=bool)}
    transport = SharedMemoryTransport({"p": arrays})
    try:
        assert transport.send("p", arrays, "check") == lab.checksum(arrays)
        arrays["w"][:] = np.arange(1000)            # the sender's data changes: the child must see the new values
        arrays["flags"][3] = True
        transport.send("p", arrays, "quiet")
        assert transport.send("p", arrays, "check") == lab.checksum(arrays)
    finally:
        transport.close()
    assert live_children() == []


def test_byte_sizes_make_one_float32_array():
    payloads = _select_payloads([4000])
    (name, (kind, arrays)), = payloads.items()
    assert kind == "custom" and lab.payload_bytes(arrays) == 4000 and arrays["data"].dtype == np.float32
    with pytest.raises(ValueError, match="unknown payload"):
        _select_payloads(["no such payload"])
    with pytest.raises(ValueError, match="unknown transports"):
        lab.transport_benchmark(transports=("carrier pigeon",))


@pytest.mark.timeout(60)
def test_the_receiver_is_ended_when_the_sender_fails(monkeypatch):
    def broken(arrays):
        raise RuntimeError("checksum failed on purpose")

    monkeypatch.setattr("rlteach.lab.transports.checksum", broken)    # the parent's; the child has its own import
    with pytest.raises(RuntimeError, match="on purpose"):
        lab.transport_benchmark(["Ape-X message (50 transitions)"], transports=("mp_queue",))
    assert live_children() == []


@pytest.mark.timeout(180)
def test_ray_transport_delivers_exactly():
    ray = pytest.importorskip("ray")
    was_running = ray.is_initialized()
    names = ["Ape-X message (50 transitions)"]
    rows = lab.transport_benchmark(names, repeats=2, transports=("ray",), stream_seconds=0.005)
    check_rows(rows, ("ray",), names)
    assert ray.is_initialized() == was_running           # it shut down only the Ray it started


@pytest.mark.timeout(300)
def test_knob_sweep_counts_move_with_the_knobs():
    # messages of 20: the lag of a message's oldest transition then comes from the weight pulls, not the message
    rows = lab.knob_sweep(env_steps_per_weight_sync=(1, 1000), transitions_per_message=(1, 20), total_steps=2000,
                          backend="thread", fixed_transitions_per_message=20, fixed_env_steps_per_weight_sync=1)
    assert [(r["varied"], r["env_steps_per_weight_sync"], r["transitions_per_message"]) for r in rows] == [
        ("env_steps_per_weight_sync", 1, 20), ("env_steps_per_weight_sync", 1000, 20),
        ("transitions_per_message", 1, 1), ("transitions_per_message", 1, 20)]
    assert rows[0] == {**rows[3], "varied": "env_steps_per_weight_sync"}      # a shared setting runs once
    sync_1, sync_1000, send_1, send_20 = rows
    for r in rows:
        assert r["env_steps"] >= 2000 and r["updates"] > 0 and r["steps_per_s"] > 0
        # at most transitions_per_message + n_step steps each
        assert r["messages"] * (r["transitions_per_message"] + 3) >= r["env_steps"]
        assert r["bytes_total"] == r["message_bytes"] + r["weight_bytes"] > 0
    # bigger messages: far fewer of them, so fewer bytes (the same transitions, less per-message overhead)
    assert send_20["messages"] * 10 < send_1["messages"]
    assert send_20["message_bytes"] < send_1["message_bytes"]
    # rarer weight pulls: fewer copies (at start, then at most one per 1000 env steps per actor), larger lag
    assert sync_1000["weight_pulls"] <= 2 + sync_1000["env_steps"] / 1000 < sync_1["weight_pulls"]
    assert sync_1000["weight_bytes"] < sync_1["weight_bytes"]
    assert sync_1000["lag_mean"] > 5 * sync_1["lag_mean"] and sync_1000["lag_p90"] > sync_1["lag_p90"]
    assert sync_1["weights_pickled_bytes"] == len(pickle.dumps(QNetwork(4, 2, (256, 256)).state_dict()))


def test_apex_message_bytes_fit_real_messages():
    from rlteach import apex

    config = apex.Config()
    overhead, per_transition = lab.apex_message_bytes(config)
    row_bytes = 2 * 4 * 4 + 8 + 3 * 4 + 8          # obs, next_obs, action, reward/discount/done, priority
    assert row_bytes <= per_transition <= row_bytes + 1 and 200 < overhead < 5000


def test_plots_draw_from_rows():
    transport_rows = [{"transport": t, "payload": p, "kind": k, "payload_bytes": b, "latency_s": 1e-4 * (i + 1),
                       "bytes_per_s": b * 1e3} for i, t in enumerate(("mp_queue", "ray"))
                      for p, k, b in (("w", "weights", 40_000), ("u", "trajectory", 4000))]
    knob = {"steps_per_s": 100.0, "steady_steps_per_s": 120.0, "lag_mean": 2.0, "lag_p90": 4.0, "messages": 10,
            "weight_pulls": 5, "message_bytes": 1e5, "weight_bytes": 1e6, "env_steps": 4000}
    knob_rows = [{**knob, "varied": "env_steps_per_weight_sync", "env_steps_per_weight_sync": w,
                  "transitions_per_message": 50} for w in (1, 100)]
    knob_rows += [{**knob, "varied": "transitions_per_message", "env_steps_per_weight_sync": 100,
                   "transitions_per_message": s} for s in (3, 50)]
    for fig in (plot_transport(transport_rows), plot_knobs(knob_rows)):
        assert fig.axes and all(ax.get_xscale() == "log" for ax in fig.axes if ax.get_visible())
        assert all(ax.get_title() and ax.get_ylabel() for ax in fig.axes)
        plt.close(fig)


def test_knob_plot_log_axes_have_labelled_ticks_inside_one_decade():
    # notebook 06, section 3b: a mean policy lag of 11 to 26 updates sits inside one decade, where a plain log
    # axis shows only unlabelled minor ticks
    knob = {"steps_per_s": 1000.0, "steady_steps_per_s": 1100.0, "messages": 2674, "weight_pulls": 60,
            "message_bytes": 2.7e6, "weight_bytes": 5.7e6, "env_steps": 3000}
    knob_rows = [{**knob, "varied": "env_steps_per_weight_sync", "env_steps_per_weight_sync": w,
                  "transitions_per_message": 50, "lag_mean": lag, "lag_p90": lag + 4}
                 for w, lag in ((1, 11), (100, 22))]
    knob_rows += [{**knob, "varied": "transitions_per_message", "env_steps_per_weight_sync": 100,
                   "transitions_per_message": s, "lag_mean": 15.0, "lag_p90": 21.0} for s in (1, 50)]
    fig = plot_knobs(knob_rows)
    fig.canvas.draw()
    for ax in fig.axes:
        if ax.get_yscale() in ("log", "symlog"):
            low, high = sorted(ax.get_ylim())
            shown = [t.get_text() for t, v in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)
                     if low <= v <= high and t.get_text()]
            assert shown, f"no labelled tick on {ax.get_title()!r}"
    plt.close(fig)
