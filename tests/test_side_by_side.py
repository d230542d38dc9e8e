"""rlteach.side_by_side (notebook 07, make bench): contender names, the stack classifier and its profiler
(checked against workloads timed with time.perf_counter), one real run with its time limit, the medians, and
the decision guide computed from them."""

import math
import signal
import sys
import threading
import time

import matplotlib
import pytest

from rlteach import policy_gradient
from rlteach import side_by_side as sbs
from rlteach.plotting import plot_curves_against_time, plot_side_by_side

matplotlib.use("Agg")


@pytest.mark.parametrize("name, workload, expected", [
    ("a2c:vector", "cartpole", {"vectorization": "vector_entry_point", "env_id": "CartPole-v1"}),
    ("a2c:async", "sleep", {"vectorization": "async", "env_kwargs": {"delay_ms": 1.0, "mode": "sleep"}}),
    ("a3c:processx8", "busy", {"backend": "process", "num_workers": 8,
                               "env_kwargs": {"delay_ms": 1.0, "mode": "busy"}}),
    ("impala:threadx2", "cartpole", {"backend": "thread", "num_actors": 2}),
    ("apex:processx2", "sleep", {"backend": "process", "num_actors": 2, "env_id": "rlteach/SlowCartPole-v1"}),
])
def test_a_contender_name_stands_for_its_config(name, workload, expected):
    _, config = sbs.contender_config(name, workload, seed=3, max_steps=1234)
    assert {k: getattr(config, k) for k in expected} == expected
    assert (config.seed, config.total_steps, config.eval_every) == (3, 1234, sbs.EVAL_EVERY)


def stack(*pairs):
    """(file, function) pairs, innermost first, as the profiler sees them."""
    return list(pairs)


RUN = ("/x/rlteach/policy_gradient.py", "train")


@pytest.mark.parametrize("frames, phase", [
    (stack(("/x/gymnasium/envs/classic_control/cartpole.py", "step"), ("/x/rlteach/monitor.py", "evaluate"), RUN),
     "evaluating"),
    (stack(("/x/rlteach/envs.py", "step"), ("/x/gymnasium/vector/sync_vector_env.py", "step"),
           ("/x/rlteach/policy_gradient.py", "collect_rollout"), RUN), "env stepping"),
    (stack(("/usr/lib/python3.11/threading.py", "wait"), ("/x/rlteach/local_pool.py", "get"),
           ("/x/rlteach/impala.py", "train")), "waiting"),
    (stack(("/x/torch/autograd/graph.py", "_engine_run_backward"), ("/x/rlteach/a3c.py", "rollout_gradients"),
           ("/x/rlteach/a3c.py", "worker")), "learning"),
    (stack(("/x/rlteach/nets.py", "sample"), ("/x/rlteach/a3c.py", "worker")), "acting"),
    (stack(("/x/torch/nn/modules/linear.py", "forward"), RUN), "learning"),   # A2C learns inline in train
    (stack(("/x/rlteach/a3c.py", "worker"),), "other"),
    (stack(("/x/rlteach/apex.py", "wait_for_learner"), ("/x/rlteach/apex.py", "actor")), "waiting"),
    (stack(("/x/rlteach/nets.py", "greedy"), ("/x/rlteach/apex.py", "actor")), "acting"),
    (stack(("/x/rlteach/apex.py", "n_step_td"), ("/x/rlteach/apex.py", "send"), ("/x/rlteach/apex.py", "actor")),
     "acting"),                                                  # an Ape-X actor's initial priorities
    (stack(("/x/rlteach/replay.py", "sample"), ("/x/rlteach/apex.py", "learner_step"),
           ("/x/rlteach/apex.py", "train")), "learning"),       # the learner samples its replay
    (stack(("/x/rlteach/replay.py", "add_batch"), ("/x/rlteach/apex.py", "receive"), ("/x/rlteach/apex.py", "train")),
     "learning"),
    (stack(("/usr/lib/python3.11/threading.py", "wait"), ("/x/tqdm/_monitor.py", "run")), None),   # not the run's
])
def test_classify_files_each_stack_under_its_phase(frames, phase):
    assert sbs.classify(frames) == phase


def test_the_profiler_agrees_with_a_workload_that_times_itself():
    """Acting and learning in torch ops (which let go of the GIL), CartPole steps in plain Python (which do
    not, and which a sampler that needed the GIL to look missed): every share within 5 points of the
    perf_counter one (seen: within 2.5, on a loaded machine too)."""
    sbs.timed_workload(0.05)                # torch's first backward imports modules: not part of the answer
    with sbs.Profiler(interval=0.002) as profiler:
        truth = sbs.timed_workload(seconds=2.0)
    shares = profiler.shares()
    assert truth["env stepping"] > 0.05
    assert {p: round(shares[p], 3) for p in sbs.PHASES} == pytest.approx(truth, abs=0.05)


def test_a2c_env_share_agrees_with_its_step_calls_timed(monkeypatch):
    """A2C (8 CartPoles, stepped in turn) under the profiler, its vector env's step timed with perf_counter."""
    stepping = []

    def timed_envs(config):
        envs = make_envs(config)
        step = envs.step

        def timed_step(actions):
            start = time.perf_counter()
            result = step(actions)
            stepping.append(time.perf_counter() - start)
            return result
        envs.step = timed_step
        return envs

    make_envs = policy_gradient.make_envs
    monkeypatch.setattr(policy_gradient, "make_envs", timed_envs)
    config = policy_gradient.Config(total_steps=4000, eval_every=None, seed=0)
    sbs.timed_workload(0.05)                                        # torch's lazy imports, as above
    start = time.perf_counter()
    with sbs.Profiler(interval=0.002) as profiler:
        policy_gradient.train(config, progress=False)
    truth = sum(stepping) / (time.perf_counter() - start)
    assert truth > 0.02
    assert profiler.shares()["env stepping"] == pytest.approx(truth, abs=0.04)


def test_the_profiler_gives_back_the_alarm_and_switch_interval_it_borrowed():
    """pytest-timeout's alarm (SIGALRM) and Python's switch interval are as they were after a profile."""
    fired, errors = [], []

    def alarm(signum, frame):
        fired.append(signum)

    def enter_off_the_main_thread():
        try:
            sbs.Profiler().__enter__()
        except RuntimeError as error:
            errors.append(str(error))

    pytest_timeouts = signal.signal(signal.SIGALRM, alarm)
    saved_timer, switch = signal.setitimer(signal.ITIMER_REAL, 100.0), sys.getswitchinterval()
    try:
        with sbs.Profiler(interval=0.001):
            time.sleep(0.02)
        assert signal.getsignal(signal.SIGALRM) is alarm and fired == []
        assert 99.0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 100.0
        assert sys.getswitchinterval() == switch
    finally:
        signal.setitimer(signal.ITIMER_REAL, *saved_timer)
        signal.signal(signal.SIGALRM, pytest_timeouts)
    thread = threading.Thread(target=enter_off_the_main_thread)
    thread.start()
    thread.join()
    assert len(errors) == 1 and "main thread" in errors[0]


def test_one_run_records_its_shares_and_a_sleeping_env_takes_most_of_the_time():
    """Stepping 8 envs that each sleep 1 ms costs far more than one batched forward: a robust fact."""
    r = sbs.run_one("sleep", "a2c:sync", seed=0, max_steps=800)
    assert r["env_steps"] >= 800 and not r["solved"] and r["steps_to_solve"] is None
    assert math.isclose(sum(r["time_shares"].values()), 1.0)
    assert r["time_shares"]["env stepping"] > 0.5
    assert r["steps_per_second"] == pytest.approx(r["env_steps"] / r["seconds"])


def test_a_run_past_its_time_limit_ends_at_the_next_evaluation_unsolved():
    r = sbs.run_one("cartpole", "a2c:sync", seed=0, max_seconds=0.0, max_steps=50_000)
    assert not r["solved"] and r["env_steps"] < 2 * sbs.EVAL_EVERY and len(r["evals"]) == 1


def fake(workload, contender, seed, seconds_to_solve, steps_per_second):
    solved = seconds_to_solve is not None
    shares = dict.fromkeys(sbs.PHASES, 0.0) | {"env stepping": 1.0}
    return sbs.record(workload, contender, seed, solved_at=(1000 * seed + 1000, seconds_to_solve) if solved else None,
                      seconds=seconds_to_solve or 120.0, env_steps=1000, evals=[(1000, 1.0, 100.0)],
                      eval_seconds=0.1, shares=shares) | {"steps_per_second": steps_per_second}


A3C_RUNS = [(2.0, 4000), (None, 3000), (3.0, 5000)]         # (seconds to solve or None, env steps/s) per seed
RECORDS = ([fake("sleep", "a2c:sync", s, t, 800) for s, t in enumerate([10.0, 12.0, 11.0])]
           + [fake("sleep", "a3c:threadx8", s, t, v) for s, (t, v) in enumerate(A3C_RUNS)]
           + [fake("sleep", "apex:threadx2", s, t, 900) for s, t in enumerate([None, None, 50.0])])


def test_medians_count_an_unsolved_run_as_slower_than_every_solved_one():
    rows = sbs.summarize(RECORDS)
    assert rows[("sleep", "a2c:sync")]["seconds_to_solve"] == 11.0
    assert rows[("sleep", "a3c:threadx8")]["seconds_to_solve"] == 3.0      # 2, 3, unsolved
    assert rows[("sleep", "apex:threadx2")]["seconds_to_solve"] is None    # 50, unsolved, unsolved
    assert rows[("sleep", "a3c:threadx8")]["steps_per_second"] == 4000
    assert (rows[("sleep", "a3c:threadx8")]["solved"], rows[("sleep", "a3c:threadx8")]["runs"]) == (2, 3)
    assert sbs.ratio(rows, "sleep", "a3c:threadx8", "a2c:sync") == pytest.approx(3 / 11)
    assert sbs.ratio(rows, "sleep", "apex:threadx2", "a2c:sync") is None
    assert sbs.best(rows, "sleep", ["a2c:sync", "a3c:threadx8", "apex:threadx2"]) == "a3c:threadx8"


def test_the_decision_guide_says_what_the_medians_say():
    guide = sbs.decision_guide(sbs.summarize(RECORDS))
    assert guide == ["sleep: fastest to solve was a3c:threadx8 (medians over its seeds: 3.0 s, 0.27x the median "
                     "time of one process stepping its envs in turn, a2c:sync; 3,000 env steps). The highest median "
                     "env steps per second came from a3c:threadx8 (4,000/s)."]
    unsolved = [fake("busy", "a2c:sync", 0, None, 700)]
    assert sbs.decision_guide(sbs.summarize(unsolved)) == ["busy: no design solved it within the limits."]


def test_the_plots_draw_every_contender():
    fig = plot_side_by_side(RECORDS)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["a2c:sync", "a3c:threadx8", "apex:threadx2"]
    curves = plot_curves_against_time(RECORDS, "sleep")
    assert len(curves.axes[0].lines) == 9 + 1                                 # one per run, and the threshold


def test_a_timer_signal_that_comes_during_a_look_is_skipped(monkeypatch):
    # Python runs a signal handler again inside itself when the signal comes back while it runs: with 8 busy
    # thread workers a look waits milliseconds for the GIL, and the bench died of a RecursionError
    nested = []
    real_all_stacks = sbs.all_stacks
    with sbs.Profiler(interval=60.0) as profiler:     # no real signal during the test

        def all_stacks_and_a_signal(fd):
            nested.append(profiler.look(signal.SIGALRM, None))      # the timer fires again, inside the look
            return real_all_stacks(fd)

        monkeypatch.setattr(sbs, "all_stacks", all_stacks_and_a_signal)
        profiler.look(signal.SIGALRM, None)
    assert nested == [None] and profiler.looks == 1          # the nested signal returned at once
