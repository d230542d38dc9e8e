"""Every asynchronous algorithm, on both backends: a worker that fails reaches the caller with its traceback,
and Ctrl-C returns the partial result; either way no process or worker thread is left behind."""

import _thread

import counting_env
import pytest
from procs import live_children, worker_threads

from rlteach import a3c, apex, impala, seed_rl
from rlteach.workers import WorkerError

CASES = [(module, backend) for module in (a3c, apex, impala, seed_rl) for backend in ("thread", "process")]
IDS = [f"{module.__name__.split('.')[-1]}-{backend}" for module, backend in CASES]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("module, backend", CASES, ids=IDS)
def test_a_failing_env_reaches_the_caller_and_leaves_nothing_behind(module, backend):
    config = module.Config(env_id="failing_env:RlteachFailingCartPole-v0", backend=backend, total_steps=10**6)
    with pytest.raises(WorkerError, match=r"(?s)worker \d.*RuntimeError: FailingCartPole broke on purpose"):
        module.train(config, progress=False)
    assert live_children() == [] and worker_threads() == []


@pytest.mark.timeout(300)
@pytest.mark.parametrize("module, backend", CASES, ids=IDS)
def test_interrupt_returns_the_partial_result_and_stops_every_worker(module, backend,
                                                                    sigint_raises_keyboard_interrupt):
    def ctrl_c_after_the_first_evaluation(result_so_far):
        _thread.interrupt_main()                        # what Ctrl-C does: KeyboardInterrupt in the main thread

    config = module.Config(backend=backend, total_steps=10**8, stop_when_solved=False, eval_every=3000)
    result = module.train(config, progress=False, callback=ctrl_c_after_the_first_evaluation)
    assert result.interrupted and result.env_steps >= 3000 and result.records["updates"] > 0
    assert len(result.evals) == 1 and result.model is not None
    assert live_children() == [] and worker_threads() == []


@pytest.mark.timeout(300)
@pytest.mark.parametrize("module, extra", [(a3c, {}), (apex, {"learning_starts": 100_000}), (impala, {}),
                                           (seed_rl, {})], ids=["a3c", "apex", "impala", "seed_rl"])
def test_every_step_and_episode_the_workers_saw_reaches_the_result(module, extra):
    """When the run stops, each worker hands over what it still holds: the env steps counted by the env itself
    equal the result's env_steps, and every episode that ended is in episode_returns (thread backend, where
    the env's counters live in this process; no evaluation, which would step the env too). Ape-X's actors
    are kept from waiting on the learner (no learning before the stop), so they stop mid-message."""
    counting_env.reset_counts()
    config = module.Config(env_id="counting_env:RlteachCountingCartPole-v0", total_steps=5000,
                           stop_when_solved=False, eval_every=None, **extra)
    result = module.train(config, progress=False)
    assert result.env_steps >= 5000
    assert result.env_steps == counting_env.COUNTS["steps"]
    assert len(result.episode_returns) == counting_env.COUNTS["episodes"] > 0


@pytest.mark.timeout(120)
def test_worker_processes_stop_when_their_parent_is_killed_outright(tmp_path):
    """A kernel killed outright (SIGKILL, no Ctrl-C, no stop event) must not leave its workers training."""
    import subprocess
    import sys
    import time

    import psutil

    script = tmp_path / "train_forever.py"
    script.write_text("from rlteach import a3c\n"
                      "if __name__ == '__main__':\n"
                      "    a3c.train(a3c.Config(backend='process', total_steps=10**9), progress=False)\n")
    parent = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 60
        workers = []
        while len(workers) < a3c.Config().num_workers and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = [p for p in psutil.Process(parent.pid).children(recursive=True)
                       if "resource_tracker" not in " ".join(p.cmdline())]
        assert len(workers) >= a3c.Config().num_workers, "the worker processes did not start"
        time.sleep(1.0)                                            # let them get into their loops
    finally:
        parent.kill()
        parent.wait()
    gone, alive = psutil.wait_procs(workers, timeout=20)
    for p in alive:
        p.kill()
    assert not alive, f"{len(alive)} worker processes kept running after their parent was killed"
