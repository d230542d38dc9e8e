"""Exercises of notebook 03 (A3C): checkers and reference solutions."""

from __future__ import annotations

import numpy as np
import torch

from rlteach.a3c import SharedRMSprop
from rlteach.exercises.check import NOT_ATTEMPTED, Verdict, as_array, check_choices, report

# ---------------------------------------------------------------------------------------------------------
# 03 A3C, exercise 1: one shared RMSProp step by hand
# ---------------------------------------------------------------------------------------------------------

RMSPROP_BY_HAND = {
    "theta": [0.5, -1.0, 2.0],   # the shared weights before the step
    "g": [0.04, 0.0, 1.0],       # the shared statistics before the step
    "grad": [0.2, -0.5, 1.0],    # the gradient a worker applies
    "lr": 0.1,
    "alpha": 0.9,
    "eps": 0.1,                  # the value reported for Atari: large enough that where it goes matters
}


def _rmsprop_by_hand(form="shared", new_g=True, g_rule="right", sign=-1.0, root=True):
    """(theta, g) after one step; the keywords build the common mistakes."""
    e = RMSPROP_BY_HAND
    theta, g, grad = (np.array(e[k]) for k in ("theta", "g", "grad"))
    alpha, eps = e["alpha"], e["eps"]
    if g_rule == "right":
        g_next = alpha * g + (1 - alpha) * grad**2
    elif g_rule == "no 1-alpha":
        g_next = alpha * g + grad**2
    else:                                                   # alpha and 1 - alpha swapped
        g_next = (1 - alpha) * g + alpha * grad**2
    used = g_next if new_g else g
    if form == "shared":
        denominator = np.sqrt(used + eps) if root else used + eps
    else:                                                   # torch.optim.RMSprop
        denominator = np.sqrt(used) + eps
    return theta + sign * e["lr"] * grad / denominator, g_next


def _rmsprop_reference():
    """The same step taken by ``rlteach.a3c.SharedRMSprop`` itself (float64)."""
    e = RMSPROP_BY_HAND
    theta = torch.tensor(e["theta"], dtype=torch.float64)
    opt = SharedRMSprop([theta], lr=e["lr"], alpha=e["alpha"], eps=e["eps"])
    opt.g[0].copy_(torch.tensor(e["g"], dtype=torch.float64))
    opt.step([theta], [torch.tensor(e["grad"], dtype=torch.float64)])
    return theta.numpy(), opt.g[0].numpy()


def check_rmsprop_step(answer) -> Verdict:
    """Exercise: ``(new_theta, new_g)`` after one SharedRMSprop step on ``RMSPROP_BY_HAND``, 3 numbers each."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (2, 3))
    if arr is None:
        return report(False, f"give two lists of three numbers, (new_theta, new_g), got {answer!r}.")
    theta, g = arr

    def same(pair):
        return np.allclose(theta, pair[0], atol=1e-4) and np.allclose(g, pair[1], atol=1e-4)

    if same(_rmsprop_reference()):
        return report(True, "g <- alpha g + (1 - alpha) grad^2 first, then theta <- theta - lr grad / "
                       "sqrt(g + eps) with the NEW g.")
    if np.allclose(theta, _rmsprop_reference()[1], atol=1e-4) and np.allclose(g, _rmsprop_reference()[0], atol=1e-4):
        return report(False, "the order is (new_theta, new_g): you gave them the other way round.")
    if same(_rmsprop_by_hand(form="torch")):
        return report(False, "that is torch.optim.RMSprop's form, grad / (sqrt(g) + eps). The shared "
                       "optimizer of A3C (DeepMind's) puts eps INSIDE the root: grad / sqrt(g + eps).")
    if same(_rmsprop_by_hand(new_g=False)):
        return report(False, "update g first and divide by the NEW g: the step uses this gradient's "
                       "own grad^2 too.")
    if same(_rmsprop_by_hand(root=False)):
        return report(False, "divide by the square ROOT of g + eps: g is an average of grad^2, its root "
                       "has the units of grad.")
    if same(_rmsprop_by_hand(sign=1.0)):
        return report(False, "the sign: a gradient step goes DOWN the gradient, theta - lr * ...")
    if np.allclose(g, _rmsprop_by_hand(g_rule="no 1-alpha")[1], atol=1e-4):
        return report(False, "g is a moving average: weight the new grad^2 by (1 - alpha), "
                       "g <- alpha g + (1 - alpha) grad^2.")
    if np.allclose(g, _rmsprop_by_hand(g_rule="swapped")[1], atol=1e-4):
        return report(False, "alpha = 0.9 weights the OLD g: g <- alpha g + (1 - alpha) grad^2.")
    if np.allclose(g, _rmsprop_reference()[1], atol=1e-4):
        return report(False, "new_g is right; now theta <- theta - lr * grad / sqrt(new_g + eps), elementwise.")
    return report(False, "first g <- alpha g + (1 - alpha) grad^2 (elementwise), then "
                   "theta <- theta - lr * grad / sqrt(g + eps) with that new g.")


# ---------------------------------------------------------------------------------------------------------
# 03 A3C, exercise 2: staleness from a timeline
# ---------------------------------------------------------------------------------------------------------

STALENESS_TIMELINE = [  # [worker, t_copy, t_applied], in the order the updates were applied
    [0, 0.00, 1.00],
    [1, 0.20, 1.50],
    [2, 0.40, 1.80],
    [0, 1.05, 2.10],
    [1, 1.55, 2.40],
    [0, 2.15, 2.90],
    [2, 1.85, 3.50],
]


def _staleness(rows, count="since copy"):
    """Per update: how many updates were applied after its copy and before it (``a3c.worker``'s rule)."""
    applied = [row[2] for row in rows]
    if count == "since copy":
        return [sum(row[1] < t < row[2] for t in applied) for row in rows]
    if count == "before copy":
        return [sum(t < row[1] for t in applied) for row in rows]
    return [sum(t < row[2] for t in applied) for row in rows]         # every update before it


def check_staleness(answer) -> Verdict:
    """Exercise: the staleness of each of the 7 updates in ``STALENESS_TIMELINE``, in its order."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    n = len(STALENESS_TIMELINE)
    arr = as_array(answer, (n,))
    if arr is None:
        return report(False, f"give {n} numbers, one per row of the timeline, got {answer!r}.")
    right = np.array(_staleness(STALENESS_TIMELINE))
    if np.array_equal(arr, right):
        return report(True, "staleness counts the updates that landed between a worker's copy and its own "
                       "update: the weights it learned from were that many updates old.")
    if np.array_equal(arr, right + 1):
        return report(False, "do not count the update itself: the first update (nobody applied anything "
                       "during its cycle) has staleness 0.")
    if np.array_equal(arr, _staleness(STALENESS_TIMELINE, "all before")):
        return report(False, "that counts every update before it. Count only those applied AFTER the "
                       "worker's copy (t_copy < t_applied of the other update < its own t_applied).")
    if np.array_equal(arr, _staleness(STALENESS_TIMELINE, "before copy")):
        return report(False, "that is how many updates the worker's copy already contained. Staleness is "
                       "how many arrived AFTER the copy, while it was rolling out and computing.")
    wrong = [i for i in range(n) if arr[i] != right[i]]
    return report(False, f"row {wrong[0]} is off: list the t_applied of all rows and count those strictly "
                   "between this row's t_copy and its t_applied.")


# ---------------------------------------------------------------------------------------------------------
# 03 A3C, exercise 3: threads, processes and the GIL
# ---------------------------------------------------------------------------------------------------------

BACKEND_CHOICES = {
    "a": "On the thread backend, 4 workers on a 2-core laptop run the Python code of 4 rollouts at the "
         "same instant.",
    "b": "The thread backend shares the model object itself; the process backend needs the weights in "
         "shared memory (share_memory_()) so that every process updates the same numbers.",
    "c": "Processes can speed A3C up to about the number of CPU cores, because each process has its own "
         "interpreter and its own GIL.",
    "d": "lock=True makes A3C synchronous: each worker waits until the others have finished their rollouts.",
    "e": "torch releases the GIL inside its kernels, so threads scale well even when every op is tiny "
         "(a 64-unit layer on one observation).",
    "f": "Adding process workers beyond the number of CPU cores keeps adding env steps per second.",
}
_BACKEND_TRUE = {"b", "c"}


def check_backend_statements(answer) -> Verdict:
    """Exercise: the letters of the TRUE statements in ``BACKEND_CHOICES``."""
    hints = {
        "a": "a: the GIL lets ONE thread run Python code at a time; the others wait for their turn.",
        "d": "d: the lock guards only the optimizer step (a few microseconds); rollouts never wait.",
        "e": "e: torch does release the GIL inside a kernel, but a kernel on a 64-unit layer lasts "
             "microseconds, far less than the Python around it, which holds the GIL.",
        "f": "f: with more busy processes than cores they take turns on the cores (you measured it: "
             "4 processes on 2 cores are not faster than 2).",
    }
    return check_choices(answer, BACKEND_CHOICES, _BACKEND_TRUE,
                         "threads share everything but take turns at the GIL; processes each have "
                         "their own, so they run truly in parallel, one per core.",
                         hints, see=" (see the backends table in rlteach.workers)")


SOLUTIONS = {            # the reference answers of notebook 03's exercises; look only after trying
    "rmsprop_step": lambda: tuple(x.round(4).tolist() for x in _rmsprop_reference()),
    "staleness": lambda: _staleness(STALENESS_TIMELINE),
    "backend_statements": lambda: sorted(_BACKEND_TRUE),
}
