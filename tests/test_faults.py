"""The fault matrix as a CI test, without timing assertions (the seconds come from benchmarks/faults.py; both
use ``rlteach.faults``, which injects the faults).

Cases: each fault on each backend with IMPALA, and every algorithm on the process backend. The faults, at the
first evaluation (mid-run, episodes already recorded): an exception in one worker's env; a real
KeyboardInterrupt in the main thread; one worker process killed with SIGKILL (process) or ``ray.kill`` (ray;
Ray restarts the actor). Each case: never hangs (a 30 s guard on the test, and ``run_case``'s own watchdog
at 25 s after the fault), leaves 0 worker processes and threads (Ray's daemons and idle workers do not
count; rlteach's actors, hub and queue do), and loses nothing: every episode recorded before the fault is,
in order, at the head of the result's ``episode_returns``, whether ``train`` returned it (Ctrl-C; a Ray worker
killed and restarted) or raised ``WorkerError`` carrying it as ``error.partial`` (with the failed worker's
index and its traceback, or the signal that killed it).

One local Ray (2 CPUs) serves every ray case, as in tests/test_ray.py. Ray's own daemons are not counted as
left behind; the last test checks that they end with the Python process that started them.
"""

import os
import subprocess
import sys
import time

import psutil
import pytest

from rlteach import a3c, apex, ddppo, faults, impala, seed_rl
from rlteach.local_pool import exit_reason

CASES = ([(impala, backend, fault) for backend in ("thread", "process", "ray") for fault in faults.FAULTS
          if (backend, fault) != ("thread", "kill")]
         + [(module, "process", fault) for module in (a3c, apex, ddppo, seed_rl) for fault in faults.FAULTS])
IDS = [f"{module.__name__.rsplit('.', 1)[-1]}-{backend}-{fault}" for module, backend, fault in CASES]


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for every ray case (its workers find the fault env by its "rlteach.faults:" id)."""
    ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed (make test installs it)")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address="local", num_cpus=2, object_store_memory=150 * 2**20, include_dashboard=False,
             configure_logging=True, logging_level="ERROR")
    yield ray
    ray.shutdown()


@pytest.mark.timeout(30, func_only=True)
@pytest.mark.parametrize("module, backend, fault", CASES, ids=IDS)
def test_a_fault_never_hangs_leaves_no_worker_and_loses_nothing(module, backend, fault, request, tmp_path):
    if backend == "ray":
        request.getfixturevalue("local_ray")
    row = faults.run_case(module, backend, fault, eval_every=1000, kill_run_steps=4000, trigger_dir=tmp_path,
                          guard=25.0)
    assert not row["outcome"].startswith("HUNG"), row["outcome"]
    assert row["left"] == 0, f"{row['left']} worker processes or threads left behind"
    assert row["episodes_at_fault"] > 0                         # the fault came mid-run
    if backend != "thread":
        assert row["processes_at_fault"] > 0                    # the count of what is left sees live workers
    error, result = row["error"], row["result"]
    assert row["nothing_lost"], row                             # returned, or carried by the error as partial
    assert result.interrupted == (error is not None or fault == "interrupt"), row
    if fault == "error":
        assert error is not None and row["outcome"].startswith("raises WorkerError naming worker"), row
        assert "RuntimeError: FaultCartPole broke on purpose" in error           # the worker's traceback
    elif fault == "interrupt":
        assert error is None and result.model is not None, row
    elif backend == "process":
        assert error is not None and "killed by SIGKILL" in error, row
        assert row["outcome"].startswith("raises WorkerError naming worker"), row
    else:                                                       # ray: the actor restarts and the run goes on
        assert error is None and result.records["workers"]["restarts"] >= 1, row
        assert result.env_steps >= 4000, row


def test_a_killed_worker_process_is_named_with_its_signal():
    assert exit_reason(-9) == "the process was killed by SIGKILL (exit code -9)\n"
    assert exit_reason(1) == "the process exited with code 1\n"


RAY_RUN_THEN_EXIT = """
import psutil
from rlteach import impala
impala.train(impala.Config(backend="ray", total_steps=1000, seed=0, eval_every=1000), progress=False)
print(" ".join(str(p.pid) for p in psutil.Process().children(recursive=True)), flush=True)
raise KeyboardInterrupt
"""


@pytest.mark.timeout(120)
def test_rays_daemons_kept_for_the_next_run_are_gone_when_the_python_process_exits():
    """Ray's own processes (its raylet, GCS, idle workers) stay up between runs in one Python process, so the
    matrix does not count them as left behind; here they must go away with that process. The script ends
    with a Ctrl-C that reaches its top level, the rougher of the two ways out (a normal exit takes the same
    path: Python's exit handlers, where Ray shuts down what it started)."""
    pytest.importorskip("ray", reason="the 'ray' extra is not installed (make test installs it)")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    done = subprocess.run([sys.executable, "-c", RAY_RUN_THEN_EXIT], capture_output=True, text=True, timeout=100,
                          env=env)
    assert done.returncode == 1 and done.stderr.rstrip().endswith("KeyboardInterrupt"), done.stderr[-2000:]
    pids = [int(pid) for pid in done.stdout.split()]
    assert pids, "the run started no Ray process: nothing was checked"

    def alive(pid):
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [" ".join(psutil.Process(pid).cmdline())[:80] for pid in pids if alive(pid)]
    assert not left, f"Ray processes still alive 15 s after the Python process exited: {left}"
