"""The actor pool on both backends: results, weights, errors with tracebacks, stopping, no orphans."""

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from procs import live_children

from rlteach.workers import STREAMS, WorkerError, make_pool, stream_seed

BACKENDS = ["thread", "process"]


def count_up(ctx, n):
    for i in range(n):
        ctx.put((ctx.index, i, os.getpid(), threading.current_thread().name))


def fail_after(ctx, k):
    for i in range(k):
        ctx.put(i)
    if ctx.index == 1:
        raise ZeroDivisionError(f"worker {ctx.index} gave up after {k} steps")
    while not ctx.should_stop():
        time.sleep(0.01)


def run_forever(ctx):
    while not ctx.should_stop():
        time.sleep(0.01)
        ctx.put(ctx.index)


def follow_weights(ctx):
    model = torch.nn.Linear(2, 1)
    version = -1
    while not ctx.should_stop():
        new = ctx.weights(model, version)
        if new != version:
            version = new
            ctx.put((ctx.index, version, model.bias.item()))
        time.sleep(0.005)


def ignore_stop(ctx):
    while True:
        time.sleep(0.05)


def drain(pool, n, timeout=60):
    items, deadline = [], time.monotonic() + timeout
    while len(items) < n and time.monotonic() < deadline:
        item = pool.get(timeout=0.5)
        if item is not None:
            items.append(item)
    return items


@pytest.mark.parametrize("backend", BACKENDS)
def test_workers_run_in_parallel_units_and_deliver_results(backend):
    with make_pool(count_up, 3, backend, args=(50,)) as pool:
        items = drain(pool, 150)
    assert sorted((w, i) for w, i, _, _ in items) == sorted((w, i) for w in range(3) for i in range(50))
    pids = {pid for _, _, pid, _ in items}
    threads = {tid for _, _, _, tid in items}
    if backend == "process":
        assert len(pids) == 3 and os.getpid() not in pids
    else:
        assert pids == {os.getpid()} and len(threads) == 3
    assert mp.active_children() == [] and pool.alive() == 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worker_error_stops_all_and_reaches_the_caller_with_its_traceback(backend):
    start = time.monotonic()
    with pytest.raises(WorkerError, match=r"worker 1 .*failed(.|\n)*ZeroDivisionError: worker 1 gave up after 5"):
        with make_pool(fail_after, 3, backend, args=(5,)) as pool:
            while True:
                pool.get(timeout=0.2)
    assert time.monotonic() - start < 60
    assert pool.alive() == 0 and live_children() == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", BACKENDS)
def test_keyboard_interrupt_in_the_caller_stops_every_worker(backend):
    with pytest.raises(KeyboardInterrupt):
        with make_pool(run_forever, 2, backend) as pool:
            drain(pool, 4)
            raise KeyboardInterrupt
    assert pool.alive() == 0 and live_children() == []


@pytest.mark.timeout(120)
def test_a_process_that_ignores_stop_is_terminated():
    pool = make_pool(ignore_stop, 2, "process", join_timeout=0.5).start()
    time.sleep(1.0)
    t = time.monotonic()
    pool.stop()
    assert time.monotonic() - t < 10 and pool.alive() == 0 and live_children() == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_published_weights_reach_the_workers_with_versions(backend):
    model = torch.nn.Linear(2, 1)
    with make_pool(follow_weights, 2, backend, weights=model.state_dict()) as pool:
        for value in (1.0, 2.0, 3.0):
            with torch.no_grad():
                model.bias.fill_(value)
            version = pool.publish(model.state_dict())
            reported = {}                              # worker index -> bias it holds at this version
            while len(reported) < 2:
                item = pool.get(timeout=30)
                assert item is not None, "workers did not pick up the new weights"
                index, seen_version, bias = item
                if seen_version == version:
                    reported[index] = bias
            assert reported == {0: value, 1: value}


def die_holding_the_weights_lock(ctx):
    """The worst moment to be killed: inside the weights' lock (a copy of new weights takes that lock)."""
    ctx._weights.lock.acquire()
    ctx.put("holding the lock")
    time.sleep(2)                     # the learner is waiting for the lock by now
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.timeout(60)
def test_a_worker_killed_while_holding_the_weights_lock_is_an_error_not_a_hang():
    model = torch.nn.Linear(2, 1)
    with make_pool(die_holding_the_weights_lock, 1, "process", weights=model.state_dict()) as pool:
        assert drain(pool, 1) == ["holding the lock"]
        start = time.monotonic()
        with pytest.raises(WorkerError, match="SIGKILL"):
            pool.publish(model.state_dict())        # the lock is never released: this used to wait for ever
    assert time.monotonic() - start < 10


def put_and_count(ctx, n, sent):
    for i in range(n):
        if ctx.put(i):
            with sent.get_lock():
                sent.value += 1


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_bounded_queue_holds_workers_back_and_stopping_loses_nothing(backend):
    sent = mp.get_context("spawn").Value("i", 0)
    with make_pool(put_and_count, 1, backend, args=(100, sent), max_queue=3) as pool:
        deadline = time.monotonic() + 60
        while pool.backlog() < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)                                 # time enough to put more, were the queue not full
        assert sent.value == 3 and pool.backlog() == 3
        first = [pool.get(timeout=5) for _ in range(5)]
        assert first == [0, 1, 2, 3, 4]                 # each get makes room for one more
    leftovers = pool.drain()                            # stop() emptied the queue: every queued item is here
    assert first + leftovers == list(range(len(first) + len(leftovers))) and sent.value == 5 + len(leftovers)
    assert pool.alive() == 0 and live_children() == []


def test_bad_arguments():
    with pytest.raises(ValueError, match="backend='gpu'"):
        make_pool(count_up, 2, "gpu")
    with pytest.raises(ValueError, match="num_workers=0"):
        make_pool(count_up, 0)
    with pytest.raises(RuntimeError, match="without weights"):
        make_pool(count_up, 1).publish({})


@pytest.mark.timeout(300)
def test_a_script_without_a_main_guard_gets_an_error_that_shows_the_fix(tmp_path):
    """spawn re-imports the main script in every worker process: without ``if __name__ == "__main__":`` each
    worker dies while it starts. The error must say so and show the guard, not only an exit code."""
    script = tmp_path / "train_without_guard.py"
    script.write_text("from rlteach import a3c\n\n"
                      "result = a3c.train(a3c.Config(backend='process', total_steps=2000, eval_every=None),\n"
                      "                   progress=False)\nprint('trained')\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode != 0 and "trained" not in done.stdout
    last = done.stderr[done.stderr.rindex("Traceback"):]          # the parent's own error, after the workers'
    assert "WorkerError" in last and "died while starting" in last, last
    assert str(script) in last and 'if __name__ == "__main__":' in last, last


# --- random streams: one SeedSequence per run, spawned per use and per worker -------------------------------


def test_every_stream_of_every_worker_gets_its_own_seed_and_runs_do_not_share_them():
    """No two (run, use, worker) share a seed, even where ``seed * 1000 + worker`` collided (run 1's worker 0
    and run 0's worker 1000); the same triple always gives the same seed."""
    seeds = {(run, use, worker): stream_seed(run, use, worker)
             for run in (0, 1) for use in STREAMS for worker in range(1200)}
    assert len(set(seeds.values())) == len(seeds)
    assert stream_seed(0, "env", 1000) != stream_seed(1, "env", 0)
    assert all(stream_seed(*key) == value for key, value in list(seeds.items())[::97])


def test_a_stream_seed_is_a_child_of_the_runs_seed_sequence():
    root = np.random.SeedSequence(7)
    use = root.spawn(len(STREAMS))[STREAMS.index("explore")]
    child = use.spawn(4)[3]
    assert stream_seed(7, "explore", 3) == int(child.generate_state(1, np.uint64)[0])


def test_streams_of_one_worker_draw_different_numbers():
    """The bug this replaces: an env reset with seed s and a sampler seeded s drew the same uniforms."""
    draws = {use: np.random.default_rng(stream_seed(0, use, 0)).random(3).tolist() for use in STREAMS}
    assert len({tuple(d) for d in draws.values()}) == len(STREAMS)
    with pytest.raises(ValueError):
        stream_seed(0, "no such use")
