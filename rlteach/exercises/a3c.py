"""Exercises of notebook 03 (A3C): checkers and reference solutions."""

from __future__ import annotations

import numpy as np
import torch

from rlteach.a3c import SharedRMSprop
from rlteach.exercises.check import NOT_ATTEMPTED, Verdict, as_array, check_choices, report
from rlteach.messages import N_, tr

# ---------------------------------------------------------------------------------------------------------
# 03 A3C, exercise 1: one shared RMSProp step by hand
# ---------------------------------------------------------------------------------------------------------

RMSPROP_BY_HAND = {
    "theta": [0.5, -1.0, 2.0],   # the shared weights before the step
    "v": [0.04, 0.0, 1.0],       # the shared statistics before the step: running averages of g^2
    "g": [0.2, -0.5, 1.0],       # the gradient a worker applies
    "lr": 0.1,
    "decay": 0.9,
    "eps": 0.1,                  # ChainerRL's A3C Atari setting (rlteach.a3c): large enough that where it goes matters
}


def _rmsprop_by_hand(form="shared", new_v=True, v_rule="right", sign=-1.0, root=True):
    """(theta, v) after one step, v the running average of g^2 and g the gradient (notebook 02's letters);
    the keywords build the common mistakes."""
    e = RMSPROP_BY_HAND
    theta, v, g = (np.array(e[k]) for k in ("theta", "v", "g"))
    decay, eps = e["decay"], e["eps"]
    if v_rule == "right":
        v_next = decay * v + (1 - decay) * g**2
    elif v_rule == "no 1-decay":
        v_next = decay * v + g**2
    else:                                                   # decay and 1 - decay swapped
        v_next = (1 - decay) * v + decay * g**2
    used = v_next if new_v else v
    if form == "shared":
        denominator = np.sqrt(used + eps) if root else used + eps
    else:                                                   # torch.optim.RMSprop
        denominator = np.sqrt(used) + eps
    return theta + sign * e["lr"] * g / denominator, v_next


def _rmsprop_reference():
    """The same step taken by ``rlteach.a3c.SharedRMSprop`` itself (float64)."""
    e = RMSPROP_BY_HAND
    theta = torch.tensor(e["theta"], dtype=torch.float64)
    opt = SharedRMSprop([theta], lr=e["lr"], decay=e["decay"], eps=e["eps"])
    opt.v[0].copy_(torch.tensor(e["v"], dtype=torch.float64))     # the shared statistics v
    opt.step([theta], [torch.tensor(e["g"], dtype=torch.float64)])
    return theta.numpy(), opt.v[0].numpy()


def check_rmsprop_step(answer) -> Verdict:
    """Exercise: ``(new_theta, new_v)`` after one SharedRMSprop step on ``RMSPROP_BY_HAND``, 3 numbers each
    (v the running average of g^2, g the gradient: notebook 02's letters)."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (2, 3))
    if arr is None:
        return report(False, tr("give two lists of three numbers, (new_theta, new_v), got {answer!r}.",
                                answer=answer))
    theta, v = arr

    def same(pair):
        return np.allclose(theta, pair[0], atol=1e-4) and np.allclose(v, pair[1], atol=1e-4)

    if same(_rmsprop_reference()):
        return report(True, tr("v <- decay v + (1 - decay) g^2 first, then theta <- theta - lr g / "
                               "sqrt(v + eps) with the NEW v."))
    if np.allclose(theta, _rmsprop_reference()[1], atol=1e-4) and np.allclose(v, _rmsprop_reference()[0], atol=1e-4):
        return report(False, tr("the order is (new_theta, new_v): you gave them the other way round."))
    if same(_rmsprop_by_hand(form="torch")):
        return report(False, tr("that is torch.optim.RMSprop's form, g / (sqrt(v) + eps). The shared "
                                "optimizer of A3C (DeepMind's) puts eps INSIDE the root: g / sqrt(v + eps)."))
    if same(_rmsprop_by_hand(new_v=False)):
        return report(False, tr("update v first and divide by the NEW v: the step uses this gradient's "
                                "own g^2 too."))
    if same(_rmsprop_by_hand(root=False)):
        return report(False, tr("divide by the square ROOT of v + eps: v is an average of g^2, its root "
                                "has the units of g."))
    if same(_rmsprop_by_hand(sign=1.0)):
        return report(False, tr("the sign: a gradient step goes DOWN the gradient, theta - lr * ..."))
    if np.allclose(v, _rmsprop_by_hand(v_rule="no 1-decay")[1], atol=1e-4):
        return report(False, tr("v is a moving average: weight the new g^2 by (1 - decay), "
                                "v <- decay v + (1 - decay) g^2."))
    if np.allclose(v, _rmsprop_by_hand(v_rule="swapped")[1], atol=1e-4):
        return report(False, tr("decay = 0.9 weights the OLD v: v <- decay v + (1 - decay) g^2."))
    if np.allclose(v, _rmsprop_reference()[1], atol=1e-4):
        return report(False, tr("new_v is right; now theta <- theta - lr * g / sqrt(new_v + eps), elementwise."))
    return report(False, tr("first v <- decay v + (1 - decay) g^2 (elementwise), then "
                            "theta <- theta - lr * g / sqrt(v + eps) with that new v."))


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
        return report(False, tr("give {n} numbers, one per row of the timeline, got {answer!r}.", n=n,
                                answer=answer))
    right = np.array(_staleness(STALENESS_TIMELINE))
    if np.array_equal(arr, right):
        return report(True, tr("staleness counts the updates that landed between a worker's copy and its own "
                               "update: the weights it learned from were that many updates old."))
    if np.array_equal(arr, right + 1):
        return report(False, tr("do not count the update itself: the first update (nobody applied anything "
                                "during its cycle) has staleness 0."))
    if np.array_equal(arr, _staleness(STALENESS_TIMELINE, "all before")):
        return report(False, tr("that counts every update before it. Count only those applied AFTER the "
                                "worker's copy (t_copy < t_applied of the other update < its own t_applied)."))
    if np.array_equal(arr, _staleness(STALENESS_TIMELINE, "before copy")):
        return report(False, tr("that is how many updates the worker's copy already contained. Staleness is "
                                "how many arrived AFTER the copy, while it was rolling out and computing."))
    wrong = [i for i in range(n) if arr[i] != right[i]]
    return report(False, tr("row {row} is off: list the t_applied of all rows and count those strictly "
                            "between this row's t_copy and its t_applied.", row=wrong[0]))


# ---------------------------------------------------------------------------------------------------------
# 03 A3C, exercise 3: threads, processes and the GIL
# ---------------------------------------------------------------------------------------------------------

BACKEND_CHOICES = {
    "a": N_("On the thread backend, 4 workers on a 2-core laptop run the Python code of 4 rollouts at the "
            "same instant."),
    "b": N_("The thread backend shares the model object itself; the process backend needs the weights in "
            "shared memory (share_memory_()) so that every process updates the same numbers."),
    "c": N_("Processes can speed A3C up to about the number of CPU cores, because each process has its own "
            "interpreter and its own GIL."),
    "d": N_("lock=True makes A3C synchronous: each worker waits until the others have finished their rollouts."),
    "e": N_("torch releases the GIL inside its kernels, so threads scale well even when every op is tiny "
            "(a 64-unit layer on one observation)."),
    "f": N_("Adding process workers beyond the number of CPU cores keeps adding env steps per second."),
}
_BACKEND_TRUE = {"b", "c"}


def check_backend_statements(answer) -> Verdict:
    """Exercise: the letters of the TRUE statements in ``BACKEND_CHOICES``."""
    hints = {
        "a": tr("a: the GIL lets ONE thread run Python code at a time; the others wait for their turn."),
        "d": tr("d: the lock guards only the optimizer step (the apply phase of notebook 03's "
                "timeline); rollouts never wait."),
        "e": tr("e: torch does release the GIL inside a kernel, but a kernel on a 64-unit layer lasts "
                "microseconds, far less than the Python around it, which holds the GIL."),
        "f": tr("f: with more busy processes than cores they take turns on the cores and the total can at best "
                "stay flat (section 3 shows it where its 4 workers outnumber your cores)."),
    }
    return check_choices(answer, BACKEND_CHOICES, _BACKEND_TRUE,
                         tr("threads share everything but take turns at the GIL; processes each have "
                            "their own, so they run truly in parallel, one per core."),
                         hints, missing=N_("one more is true: look again at {letter} (see the backends table in "
                                           "rlteach.workers)."))


SOLUTIONS = {            # the reference answers of notebook 03's exercises; look only after trying
    "rmsprop_step": lambda: tuple(x.round(4).tolist() for x in _rmsprop_reference()),
    "staleness": lambda: _staleness(STALENESS_TIMELINE),
    "backend_statements": lambda: sorted(_BACKEND_TRUE),
}
