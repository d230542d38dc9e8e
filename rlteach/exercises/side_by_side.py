"""Exercises of notebook 07 (side by side): checkers and reference solutions (``SOLUTIONS``)."""

from __future__ import annotations

import numpy as np

from rlteach.exercises.check import NOT_ATTEMPTED, Verdict, as_array, check_choices, report
from rlteach.messages import N_, tr

# ---------------------------------------------------------------------------------------------------------
# 07 side by side, exercise 1: which design for which workload
# ---------------------------------------------------------------------------------------------------------

WORKLOAD_CHOICES = {
    "a": N_("On the sleep workload, 8 thread workers step faster than 1, because time.sleep lets go of the GIL "
            "while the env waits."),
    "b": N_("On the busy workload, 8 thread workers step about 8 times as fast as 1 thread."),
    "c": N_("An AsyncVectorEnv pays when one env step costs more than sending the action to a subprocess and the "
            "observation back."),
    "d": N_("SlowCartPole's evaluation episodes sleep or compute too, so a slow workload also makes every "
            "evaluation slower."),
    "e": N_("On the busy workload, 2 worker processes on a 2-core machine can step up to about twice as fast as "
            "1 process, and 8 processes no faster than 2."),
    "f": N_("On CartPole-v1, more actors always solve sooner, because they collect more experience per second."),
}
_WORKLOAD_TRUE = {"a", "c", "e"}


def check_workload_statements(answer) -> Verdict:
    """Exercise: the letters of the TRUE statements in ``WORKLOAD_CHOICES``."""
    hints = {
        "b": tr("b: a busy step computes in Python and holds the GIL; in one process only one thread runs Python "
                "at a time, so 8 threads step about as fast as 1 (look at a3c:threadx8 against a3c:threadx1)."),
        "d": tr("d: evaluation is the measuring instrument, not the workload: it plays the same env with "
                "delay_ms=0 (rlteach.envs.evaluation_kwargs), so the solved check costs the same on every workload."),
        "f": tr("f: on CartPole a step costs about 10 microseconds; messages, start-up and stale policies cost more "
                "than the steps they parallelize, and one process stepping 8 envs in turn is hard to beat."),
    }
    return check_choices(answer, WORKLOAD_CHOICES, _WORKLOAD_TRUE,
                         tr("threads for envs that wait, processes (up to the cores) for envs that compute, one "
                            "process for envs that cost less than a message."), hints,
                         missing=N_("one more is true: look again at {letter} (sections 2 and 3)."))


# ---------------------------------------------------------------------------------------------------------
# 07 side by side, exercise 2: sync against async env stepping, by hand
# ---------------------------------------------------------------------------------------------------------

STEPPING_BY_HAND = {
    "num_envs": 8,
    "step_ms": 1.0,         # one env step (the env waits: it needs no CPU of this process)
    "overhead_ms": 0.1,     # per env and vector step, in the learner's process: acting, bookkeeping
    "message_ms": 0.05,     # per env and vector step, async only: the action out and the observation back
}


def _stepping(e=None):
    """(env steps/s of "sync", env steps/s of "async"): sync steps the envs one after another; async waits
    for the slowest env once per vector step, then pays the overhead and a message per env."""
    e = STEPPING_BY_HAND if e is None else e
    n = e["num_envs"]
    sync = 1000.0 / (e["step_ms"] + e["overhead_ms"])
    asynchronous = n * 1000.0 / (e["step_ms"] + n * (e["overhead_ms"] + e["message_ms"]))
    return sync, asynchronous


def check_stepping(answer) -> Verdict:
    """Exercise: (env steps/s of "sync", env steps/s of "async") for ``STEPPING_BY_HAND``."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (2,))
    if arr is None:
        return report(False, tr("give two numbers (sync env steps/s, async env steps/s), got {answer!r}.",
                                answer=answer))
    sync, asynchronous = _stepping()
    e = STEPPING_BY_HAND
    if np.allclose(arr, [sync, asynchronous], rtol=1e-2):
        crossover = e["message_ms"] * e["num_envs"] / (e["num_envs"] - 1) if e["num_envs"] > 1 else float("inf")
        return report(True, tr("async steps {speedup:.1f}x as fast here. By this formula the subprocesses lose once "
                               "step_ms drops below message_ms x num_envs / (num_envs - 1) = {crossover:.3g} ms, "
                               "about one message: CartPole's case.",
                               speedup=asynchronous / sync, crossover=crossover))
    if not np.isclose(arr[0], sync, rtol=1e-2):
        return report(False, tr("sync: the envs step one after another, so each env step costs step_ms + "
                                "overhead_ms: 1000 / (step_ms + overhead_ms) steps per second."))
    if np.isclose(arr[1], e["num_envs"] * 1000.0 / e["step_ms"], rtol=1e-2):
        return report(False, tr("async still pays, per vector step, the overhead and a message for every env."))
    return report(False, tr("async: one vector step takes step_ms (all envs wait at once) + num_envs x "
                            "(overhead_ms + message_ms), and yields num_envs env steps."))


# ---------------------------------------------------------------------------------------------------------
# 07 side by side, exercise 3: the GIL and the cores on the busy workload
# ---------------------------------------------------------------------------------------------------------

GIL_QUESTION = {"workers": 8, "cores": 2}


def _busy_speedups():
    """(threads' speed-up, processes' speed-up), ideally: the GIL runs one thread; the cores cap processes."""
    return 1.0, float(min(GIL_QUESTION["workers"], GIL_QUESTION["cores"]))


def check_busy_speedups(answer) -> Verdict:
    """Exercise: on the busy workload, with ``GIL_QUESTION``'s workers and cores: (the speed-up of that many
    thread workers over 1 thread, the speed-up of that many process workers over 1 process), ideally."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (2,))
    if arr is None:
        return report(False, tr("give two numbers (threads' speed-up, processes' speed-up), got {answer!r}.",
                                answer=answer))
    right = np.array(_busy_speedups())
    if np.allclose(arr, right, atol=0.05):
        return report(True, tr("the GIL lets one thread run Python at a time; processes each have their own GIL "
                               "but share the cores."))
    if not np.isclose(arr[0], right[0], atol=0.05):
        return report(False, tr("threads: a busy step holds the GIL, so only one runs at a time, whatever their "
                                "number."))
    return report(False, tr("processes: each has its own GIL, but two cores run at most two at a time."))


SOLUTIONS = {
    "workload_statements": lambda: sorted(_WORKLOAD_TRUE),
    "stepping": lambda: [round(x, 3) for x in _stepping()],
    "busy_speedups": lambda: list(_busy_speedups()),
}
