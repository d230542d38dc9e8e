"""rlteach.throughput: each mode counts and times real env steps, actor processes are real, distinct and
always cleaned up (after success, a worker error, a crash or Ctrl-C), and bad input fails before any work."""

import math
import multiprocessing as mp
import multiprocessing.connection
import multiprocessing.util
import os
import signal
import threading
import time

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np
import psutil
import pytest
import torch
from gymnasium.envs.classic_control import CartPoleEnv

from rlteach import throughput
from rlteach.plotting import plot_throughput
from rlteach.throughput import WARMUP_STEPS, Measurement, compare, measure


class CountingCartPole(CartPoleEnv):
    """CartPole that counts every step taken in this process."""

    steps = 0

    def step(self, action):
        CountingCartPole.steps += 1
        return super().step(action)


# Registered in this process only: spawned subprocesses do not know it (used to make a worker fail).
if "RlteachCounting-v0" not in gym.registry:
    gym.register("RlteachCounting-v0", entry_point=CountingCartPole, max_episode_steps=500)


def leftover_children() -> list[psutil.Process]:
    """Our descendants, running or unreaped zombies, except multiprocessing's resource tracker (one per
    interpreter, started by the "spawn" context on purpose and kept until the interpreter exits)."""
    leftovers = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                leftovers.append(child)
        except psutil.ZombieProcess:
            leftovers.append(child)
        except psutil.NoSuchProcess:
            pass
    return leftovers


def assert_nothing_left_behind():
    assert leftover_children() == []  # first: active_children() below would reap zombies
    assert mp.active_children() == []


# --- every mode counts and times real steps --------------------------------------------------------------

@pytest.mark.parametrize("mode, num_envs, steps, expected_steps", [
    ("single", 1, 301, 301),
    ("sync", 3, 301, 303),       # ceil(301 / 3) = 101 vector steps of 3 envs
    ("async", 2, 301, 302),
    ("processes", 2, 301, 301),  # 151 + 150: split exactly
])
def test_each_mode_counts_steps_and_gives_a_finite_positive_rate(mode, num_envs, steps, expected_steps):
    m = measure(mode, num_envs=num_envs, steps=steps)
    assert (m.mode, m.num_envs, m.steps) == (mode, num_envs, expected_steps)
    assert m.seconds > 0 and math.isfinite(m.seconds)
    assert m.steps_per_second > 0 and math.isfinite(m.steps_per_second)
    assert m.steps_per_second == pytest.approx(m.steps / m.seconds)
    assert_nothing_left_behind()


@pytest.mark.parametrize("mode, num_envs", [("single", 1), ("sync", 3)])
def test_in_process_modes_really_step_the_env_that_often(mode, num_envs):
    CountingCartPole.steps = 0
    m = measure(mode, env_id="RlteachCounting-v0", num_envs=num_envs, steps=301)
    assert CountingCartPole.steps == WARMUP_STEPS * num_envs + m.steps  # warm-up is stepped, not counted


def test_measuring_leaves_the_callers_torch_threads_and_random_state_alone():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        state = torch.get_rng_state()
        measure("single", steps=50)
        measure("sync", num_envs=2, steps=50)
        assert torch.get_num_threads() == 2
        assert torch.equal(torch.get_rng_state(), state)
    finally:
        torch.set_num_threads(threads)


# --- agent-parallelism runs real, distinct processes and cleans them up ----------------------------------

def test_processes_mode_runs_n_distinct_processes_that_are_gone_afterwards():
    m = measure("processes", num_envs=3, steps=300)
    assert len(m.pids) == 3 and len(set(m.pids)) == 3
    assert os.getpid() not in m.pids
    assert_nothing_left_behind()
    assert not any(psutil.pid_exists(pid) for pid in m.pids)


def test_async_mode_steps_envs_in_distinct_subprocesses():
    m = measure("async", num_envs=2, steps=100)
    assert len(set(m.pids)) == 2 and os.getpid() not in m.pids
    assert_nothing_left_behind()


def test_in_process_modes_run_in_this_process():
    assert measure("sync", num_envs=2, steps=100).pids == (os.getpid(),)


def test_a_worker_error_is_raised_here_with_its_traceback_and_no_process_is_left():
    # The env exists in this process but not in the spawned workers: each worker's gym.make fails.
    with pytest.raises(RuntimeError, match=r"actor process \d failed(.|\n)*NameNotFound(.|\n)*Hint"):
        measure("processes", env_id="RlteachCounting-v0", num_envs=2, steps=100)
    assert_nothing_left_behind()


def test_a_worker_that_dies_without_reporting_is_detected():
    context = mp.get_context("spawn")
    results = context.Queue()
    dying = context.Process(target=os._exit, args=(3,))
    dying.start()
    try:
        with pytest.raises(RuntimeError, match="died with exit code 3"):
            throughput._collect(results, [dying], 1)
    finally:
        dying.join()
        results.close()


# --- Ctrl-C: KeyboardInterrupt at any moment stops every process and reaches the caller --------------------

# A CartPole that announces, at its first step, that its process is stepping: it creates an empty file named
# after its process id in the folder $RLTEACH_STEPPING_DIR. Written to a module so spawned processes can import it.
ANNOUNCING_ENV_MODULE = '''
import os

import gymnasium as gym
from gymnasium.envs.classic_control import CartPoleEnv


class AnnouncingCartPole(CartPoleEnv):
    announced = False

    def step(self, action):
        if not self.announced:
            self.announced = True
            open(os.path.join(os.environ["RLTEACH_STEPPING_DIR"], str(os.getpid())), "w").close()
        return super().step(action)


gym.register("AnnouncingCartPole-v0", entry_point=AnnouncingCartPole, max_episode_steps=500)
'''


@pytest.fixture
def announcing_env(tmp_path, monkeypatch):
    """(env_id, stepping): ``stepping()`` is the set of process ids whose env of ``env_id`` has stepped."""
    (tmp_path / "rlteach_announcing_env.py").write_text(ANNOUNCING_ENV_MODULE)
    folder = tmp_path / "stepping"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned processes start with this process's sys.path
    monkeypatch.setenv("RLTEACH_STEPPING_DIR", str(folder))
    return "rlteach_announcing_env:AnnouncingCartPole-v0", lambda: {int(f.name) for f in folder.iterdir()}




class CtrlC(threading.Thread):
    """Presses Ctrl-C (sends SIGINT to this process) once ``ready()`` is true, polled; after ``wait_s`` anyway,
    so that a test fails instead of hanging. ``pressed_at``: when, on time.perf_counter()."""

    def __init__(self, ready, wait_s: float):
        super().__init__(daemon=True)
        self.ready, self.wait_s = ready, wait_s
        self.was_ready, self.pressed_at, self.cancelled = False, None, threading.Event()

    def run(self):
        deadline = time.monotonic() + self.wait_s
        while not self.cancelled.is_set() and not self.was_ready and time.monotonic() < deadline:
            self.was_ready = self.ready()
            time.sleep(0.05)
        if not self.cancelled.is_set():
            self.pressed_at = time.perf_counter()
            os.kill(os.getpid(), signal.SIGINT)


def measure_until_ctrl_c(ctrl_c: CtrlC, mode: str, env_id: str = "CartPole-v1") -> float:
    """Run a measurement that would take many minutes; return the seconds from Ctrl-C to KeyboardInterrupt here."""
    ctrl_c.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            measure(mode, env_id=env_id, num_envs=2, steps=10_000_000)
        return time.perf_counter() - ctrl_c.pressed_at
    finally:
        ctrl_c.cancelled.set()
        ctrl_c.join()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", ["processes", "async"])
def test_ctrl_c_during_a_long_measurement_stops_every_actor_process_promptly(
        mode, announcing_env, sigint_raises_keyboard_interrupt):
    env_id, stepping = announcing_env
    # Ctrl-C once both child processes step (starting them takes seconds; much longer on a loaded machine).
    ctrl_c = CtrlC(ready=lambda: len(stepping()) == 2, wait_s=180)
    seconds = measure_until_ctrl_c(ctrl_c, mode, env_id)
    print(f"Ctrl-C to KeyboardInterrupt: {seconds:.3f} s")  # shown with pytest -rP
    assert ctrl_c.was_ready, "the child processes did not start stepping within 180 s"
    assert seconds < 20
    assert_nothing_left_behind()
    assert not any(psutil.pid_exists(pid) for pid in stepping())


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", ["processes", "async"])
@pytest.mark.parametrize("delay", [0.05, 0.5])
def test_ctrl_c_while_the_processes_start_stops_them_all(mode, delay, sigint_raises_keyboard_interrupt):
    start = time.perf_counter()
    seconds = measure_until_ctrl_c(CtrlC(ready=lambda: time.perf_counter() - start > delay, wait_s=60), mode)
    print(f"Ctrl-C to KeyboardInterrupt: {seconds:.3f} s")  # shown with pytest -rP
    assert seconds < 60  # "async" starts its env processes before acting on Ctrl-C: seconds on a loaded machine
    assert_nothing_left_behind()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", ["processes", "async"])
def test_ctrl_c_in_the_middle_of_process_start_still_stops_that_process(mode, monkeypatch,
                                                                        sigint_raises_keyboard_interrupt):
    """The narrowest moment: the OS has created the second child, but Process.start() has not returned its pid."""
    spawn = multiprocessing.util.spawnv_passfds
    children = []

    def spawn_then_ctrl_c(path, args, passfds):
        pid = spawn(path, args, passfds)
        if any(b"spawn_main" in os.fsencode(arg) for arg in args):  # not the resource tracker
            children.append(pid)
            if len(children) == 2:
                os.kill(os.getpid(), signal.SIGINT)
        return pid

    monkeypatch.setattr(multiprocessing.util, "spawnv_passfds", spawn_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        measure(mode, num_envs=2, steps=10_000_000)
    assert len(children) == 2
    assert_nothing_left_behind()
    assert not any(psutil.pid_exists(pid) for pid in children)


@pytest.mark.timeout(300)
def test_ctrl_c_half_way_through_reading_an_env_reply_still_stops_the_env_processes(monkeypatch):
    """Ctrl-C just after the 4-byte header of an env's reply was read from its pipe (Python raises
    KeyboardInterrupt right after a call returns): that pipe is now out of step. Closing the AsyncVectorEnv must
    not read from it; that once raised EOFError instead of KeyboardInterrupt and left the env processes running."""
    recv_bytes = multiprocessing.connection.Connection._recv_bytes
    calls, pressed = [], []

    def recv_bytes_then_ctrl_c(self, maxsize=None):
        calls.append(self)
        if len(calls) > 50 and self is calls[0] and not pressed:  # well into the stepping, the first env's reply
            pressed.append(True)
            self._recv(4)  # the header is read ...
            time.sleep(0.5)  # ... the other env's reply arrives ...
            raise KeyboardInterrupt  # ... and Ctrl-C
        return recv_bytes(self, maxsize)

    monkeypatch.setattr(multiprocessing.connection.Connection, "_recv_bytes", recv_bytes_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        measure("async", num_envs=2, steps=10_000_000)
    assert pressed
    assert_nothing_left_behind()


# --- bad input: a clear error before any work starts -----------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: measure("warp"), "mode"),
    (lambda: measure("sync", num_envs=0), "num_envs"),
    (lambda: measure("processes", num_envs=-2), "num_envs"),
    (lambda: measure("single", num_envs=2), "num_envs"),
    (lambda: measure("sync", steps=0), "steps"),
    (lambda: measure("sync", num_envs=4, steps=3), "steps"),
    (lambda: measure("single", seed=-1), "seed"),
    (lambda: measure("processes", env_id="NoSuchEnv-v0", num_envs=2), "env_id"),
    (lambda: measure("single", env_id="Pendulum-v1"), "env_id"),  # continuous actions: not allowed
    (lambda: compare(num_envs=(1, 0)), "num_envs"),
    (lambda: compare(modes=("sync", "bogus")), "mode"),
    (lambda: compare(steps=0), "steps"),
    (lambda: compare(num_envs=()), "num_envs"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call()
    assert_nothing_left_behind()


def test_wrong_types_raise_type_error_naming_the_argument():
    with pytest.raises(TypeError, match="steps"):
        measure("sync", steps=1.5)
    with pytest.raises(TypeError, match="num_envs"):
        measure("sync", num_envs="4")


# --- compare and the plot ---------------------------------------------------------------------------------

def test_compare_measures_single_once_and_every_other_mode_at_every_n():
    ms = compare(num_envs=(1, 2), steps=100, modes=("single", "sync"), progress=False)
    assert [(m.mode, m.num_envs) for m in ms] == [("single", 1), ("sync", 1), ("sync", 2)]


def test_plot_throughput_draws_one_bar_per_measurement_with_the_measured_height():
    ms = [Measurement("single", 1, 1000, 0.10), Measurement("sync", 1, 1000, 0.125),
          Measurement("sync", 4, 1000, 0.04), Measurement("processes", 1, 1000, 0.11),
          Measurement("processes", 4, 1000, 0.08)]
    fig = plot_throughput(ms)
    ax = fig.axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == pytest.approx([m.steps_per_second for m in ms])
    assert heights == pytest.approx([10_000, 8_000, 25_000, 9_090.9, 12_500], rel=1e-4)
    centres = [bar.get_x() + bar.get_width() / 2 for bar in ax.patches]
    assert [round(c) for c in centres] == [0, 0, 1, 0, 1]  # grouped by N: N=1 at x=0, N=4 at x=1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "4"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["single", "sync", "processes"]
    assert ax.get_xlabel() and "steps" in ax.get_ylabel()
    plt.close(fig)


def test_compare_repeats_every_setting_in_rounds_and_rates_groups_them():
    ms = compare(num_envs=(2,), steps=40, modes=("single", "sync"), progress=False, repeats=3)
    assert [(m.repeat, m.mode, m.num_envs) for m in ms] == [(r, mode, n) for r in range(3)
                                                            for mode, n in (("single", 1), ("sync", 2))]
    by_setting = throughput.rates(ms)
    assert list(by_setting) == [("single", 1), ("sync", 2)]
    assert by_setting["sync", 2].tolist() == [m.steps_per_second for m in ms if m.mode == "sync"]
    with pytest.raises(ValueError, match="repeats"):
        compare(steps=40, repeats=0, progress=False)


def test_plot_throughput_with_repeats_draws_the_mean_and_a_line_spanning_the_repeats():
    ms = [Measurement("sync", 1, 1000, s, repeat=r) for r, s in enumerate((0.10, 0.125, 0.08))]
    ms += [Measurement("sync", 4, 1000, s, repeat=r) for r, s in enumerate((0.04, 0.05, 0.05))]
    fig = plot_throughput(ms)
    ax = fig.axes[0]
    rates = {n: [m.steps_per_second for m in ms if m.num_envs == n] for n in (1, 4)}
    assert [bar.get_height() for bar in ax.patches] == pytest.approx([np.mean(rates[1]), np.mean(rates[4])])
    (spans,) = [c for c in ax.collections if c.get_segments()]
    ends = sorted(v for seg in spans.get_segments() for v in (min(seg[:, 1]), max(seg[:, 1])))
    assert ends == pytest.approx(sorted(v for r in rates.values() for v in (min(r), max(r))))
    assert "3 repeats" in ax.get_ylabel()
    plt.close(fig)


def test_plot_throughput_of_real_measurements():
    ms = compare(num_envs=(2,), steps=100, modes=("sync", "single"), progress=False)
    fig = plot_throughput(ms)
    assert [bar.get_height() for bar in fig.axes[0].patches] == pytest.approx(
        [m.steps_per_second for m in ms])
    plt.close(fig)


# --- the cost of one env step alone ------------------------------------------------------------------------

def test_step_seconds_times_only_the_step_calls():
    CountingCartPole.steps = 0
    seconds = throughput.step_seconds("RlteachCounting-v0", steps=300)
    assert CountingCartPole.steps == WARMUP_STEPS + 300
    assert 0 < seconds < 0.01 and math.isfinite(seconds)


def test_step_seconds_of_a_sleeping_env_is_at_least_its_delay():
    delay_ms = 3.0
    seconds = throughput.step_seconds("rlteach/SlowCartPole-v1", steps=20,
                                      env_kwargs={"delay_ms": delay_ms, "mode": "sleep"})
    assert delay_ms / 1000 <= seconds < 10 * delay_ms / 1000


@pytest.mark.parametrize("kwargs, name", [({"steps": 0}, "steps"), ({"seed": -1}, "seed"),
                                          ({"env_id": "NoSuchEnv-v0"}, "env_id")])
def test_step_seconds_bad_input_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        throughput.step_seconds(**kwargs)
