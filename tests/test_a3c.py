"""A3C: the shared optimizer's formula and shared state, asynchrony (staleness, overlap)
(failures and Ctrl-C: test_stopping.py; learning: test_learning_async.py)."""

import threading

import numpy as np
import pytest
import torch
import torch.multiprocessing as tmp
from procs import live_children

from rlteach import a3c

BACKENDS = ["thread", "process"]


# --- the shared optimizers -------------------------------------------------------------------------------


def test_shared_rmsprop_step_matches_the_formula():
    torch.manual_seed(0)
    theta = [torch.randn(3, 2), torch.randn(2)]
    before = [t.clone() for t in theta]
    grads = [torch.randn(3, 2), torch.randn(2)]
    opt = a3c.SharedRMSprop(theta, lr=0.1, alpha=0.9, eps=0.01)
    g0 = [torch.rand_like(t) for t in theta]
    for g, init in zip(opt.g, g0, strict=True):
        g.copy_(init)
    opt.step(theta, grads)
    for t, t0, grad, g_init, g in zip(theta, before, grads, g0, opt.g, strict=True):
        g_expected = 0.9 * g_init + 0.1 * grad**2                    # g <- alpha g + (1 - alpha) grad^2
        torch.testing.assert_close(g, g_expected)
        torch.testing.assert_close(t, t0 - 0.1 * grad / torch.sqrt(g_expected + 0.01))  # eps inside the root
    assert all(g.is_shared() for g in opt.g) and int(opt.steps) == 1


def test_shared_adam_first_step_moves_each_weight_by_about_lr():
    theta = [torch.zeros(4)]
    opt = a3c.SharedAdam(theta, lr=0.01)
    opt.step(theta, [torch.tensor([1.0, -2.0, 0.5, 3.0])])
    torch.testing.assert_close(theta[0], torch.tensor([-0.01, 0.01, -0.01, -0.01]), atol=1e-6, rtol=0)


def _step_in_child(opt, theta, grad):
    opt.step(theta, [grad])


def test_one_set_of_statistics_is_shared_by_threads_and_processes():
    theta = [torch.zeros(3).share_memory_()]
    opt = a3c.SharedRMSprop(theta, lr=0.1, alpha=0.5, eps=1e-8)
    grad = torch.ones(3)
    t = threading.Thread(target=_step_in_child, args=(opt, theta, grad))
    t.start()
    t.join()
    p = tmp.get_context("spawn").Process(target=_step_in_child, args=(opt, theta, grad))
    p.start()
    p.join(timeout=60)
    assert p.exitcode == 0
    # two steps by two different workers on ONE g: 0 -> 0.5 -> 0.75
    torch.testing.assert_close(opt.g[0], torch.full((3,), 0.75))
    assert int(opt.steps) == 2
    expected = -0.1 / np.sqrt(0.5 + 1e-8) - 0.1 / np.sqrt(0.75 + 1e-8)
    torch.testing.assert_close(theta[0], torch.full((3,), expected, dtype=torch.float32))


# --- asynchrony -------------------------------------------------------------------------------------------


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", BACKENDS)
def test_two_workers_overlap_in_time_and_apply_stale_gradients(backend):
    result = a3c.train(a3c.Config(backend=backend, num_workers=2, total_steps=3000, stop_when_solved=False,
                                  eval_every=10**6), progress=False)
    timeline = np.array(result.records["timeline"])
    assert set(timeline[:, 0]) == {0, 1}
    assert (timeline[:, 1] <= timeline[:, 2]).all() and (timeline[:, 2] <= timeline[:, 3]).all()
    assert (timeline[:, 3] <= timeline[:, 4]).all()
    assert a3c.overlap_seconds(result.records["timeline"]) > 0        # both inside a cycle at once
    assert max(result.records["staleness"]) >= 1 and result.records["updates"] == len(timeline)
    assert result.env_steps >= 3000 and live_children() == []


# --- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field, value, pattern", [
    ("backend", "gpu", r"backend='gpu'"), ("num_workers", 0, r"num_workers=0"), ("t_max", 0, r"t_max=0"),
    ("lr", -1.0, r"lr=-1\.0"), ("optimizer", "sgd", r"optimizer='sgd'"), ("gamma", 2, r"gamma=2"),
    ("env_id", "Pendulum-v1", r"discrete"), ("device", "cuda", r"device='cuda'"),
])
def test_bad_config(field, value, pattern):
    with pytest.raises(ValueError, match=pattern):
        a3c.Config(**{field: value})
