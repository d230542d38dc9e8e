"""Exercises of notebook 06 (scaling out): checkers and reference solutions (``SOLUTIONS``)."""

from __future__ import annotations

import numpy as np

from rlteach.exercises.check import NOT_ATTEMPTED, Verdict, as_array, check_choices, report
from rlteach.messages import N_, tr

# ---------------------------------------------------------------------------------------------------------
# 06 scaling out, exercise 1: which parallelism, which backend
# ---------------------------------------------------------------------------------------------------------

SCALING_CHOICES = {
    "a": N_("For CartPole on one machine, 8 envs stepped in one process with one batched forward beat 8 envs in "
            "8 AsyncVectorEnv subprocesses, because a CartPole step costs far less than a message between "
            "processes."),
    "b": N_("On a machine with many cores, the thread backend is the best choice for workers that run mostly "
            "Python, because threads share memory and need no messages."),
    "c": N_("Ray is the only rlteach backend whose workers can run on several machines; on one machine it is "
            "usually slower than the process backend, because every result and every weight pull is a message."),
    "d": N_("A parameter server applies one update at a time, so updates never collide; the price is a round trip "
            "over the network for every pull and every push."),
    "e": N_("With a3c.Config(backend='ray', sync=True), a gradient can still be several updates stale when the "
            "server applies it."),
    "f": N_("When Ray restarts a killed worker, the worker carries on with its unroll exactly where it stopped, "
            "so no env step is lost."),
}
_SCALING_TRUE = {"a", "c", "d"}


def check_scaling_statements(answer) -> Verdict:
    """Exercise: the letters of the TRUE statements in ``SCALING_CHOICES``."""
    hints = {
        "b": tr("b: threads share memory, but Python's GIL lets one of them run Python code at a time (notebook "
                "03, and the backend comparison here). For Python-heavy workers, use processes."),
        "e": tr("e: in sync mode the server waits for one gradient from EVERY worker, applies their mean once, and "
                "the workers wait for that update before they go on: every staleness is 0."),
        "f": tr("f: a restarted Ray actor is a fresh process; RayPool runs the worker function again from the "
                "top. What it had already put into the queue is kept; the unroll it was in the middle of is lost, "
                "with the returns of the episodes that finished inside it."),
    }
    return check_choices(answer, SCALING_CHOICES, _SCALING_TRUE,
                         tr("batch cheap envs in one process, use processes (or Ray) for work that needs cores, "
                            "and pay for every message that crosses a process or a machine."),
                         hints, missing=N_("one more is true: look again at {letter} (sections 1, 2 and 4)."))


# ---------------------------------------------------------------------------------------------------------
# 06 scaling out, exercise 2: when does the parameter server become the bottleneck?
# ---------------------------------------------------------------------------------------------------------

SERVER_BY_HAND = {
    "compute_ms": 8.0,      # one worker's rollout and gradient, per update
    "round_trip_ms": 1.0,   # one message to the server and its answer back (a pull, or a push)
    "apply_ms": 0.5,        # the server's own time to apply one pushed gradient (one at a time)
}


def _server_numbers(round_trips=2, include_compute=True):
    """(updates/s of one worker, updates/s the server can apply, workers that saturate the server)."""
    e = SERVER_BY_HAND
    cycle = (e["compute_ms"] if include_compute else 0.0) + round_trips * e["round_trip_ms"]
    worker, server = 1000.0 / cycle, 1000.0 / e["apply_ms"]
    return worker, server, server / worker


def check_server_saturation(answer) -> Verdict:
    """Exercise: three numbers for ``SERVER_BY_HAND``: the updates per second of one asynchronous worker (its
    cycle is a pull, its compute, a push), the most updates per second the server can apply, and the number of
    workers at which the server is busy all the time."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (3,))
    if arr is None:
        return report(False, tr("give three numbers (worker updates/s, server updates/s, workers), got {answer!r}.",
                                answer=answer))
    right = np.array(_server_numbers())
    if np.allclose(arr, right, rtol=1e-3):
        return report(True, tr("one worker's cycle is {compute_ms:g} ms of work plus 2 round trips; past about 20 "
                               "workers the server, not the workers, sets the pace. Hence sharded servers, fewer "
                               "pushes (a larger t_max), or IMPALA's single learner with big batches.",
                               compute_ms=SERVER_BY_HAND["compute_ms"]))
    if np.isclose(arr[0], _server_numbers(round_trips=0)[0], rtol=1e-3):
        return report(False, tr("a worker's cycle includes its messages: a pull before the rollout and a push "
                                "after it, each a full round trip."))
    if np.isclose(arr[0], _server_numbers(round_trips=1)[0], rtol=1e-3):
        return report(False, tr("two round trips per cycle: one to pull the weights, one to push the gradient."))
    if not np.isclose(arr[0], right[0], rtol=1e-3):
        return report(False, tr("one worker: 1000 ms / (compute + 2 round trips) updates per second."))
    if not np.isclose(arr[1], right[1], rtol=1e-3):
        return report(False, tr("the server applies one gradient at a time, each taking apply_ms: "
                                "1000 / apply_ms updates per second at most."))
    return report(False, tr("the server is saturated when N workers ask for as many updates per second as it can "
                            "apply: N = server rate / one worker's rate."))


# ---------------------------------------------------------------------------------------------------------
# 06 scaling out, exercise 3: the traffic of one Ape-X actor
# ---------------------------------------------------------------------------------------------------------

APEX_TRAFFIC = {
    "env_steps_per_s": 2000,           # one actor's env steps per second (one transition per step)
    "transition_bytes": 100,           # one pickled n-step transition with its priority
    "message_overhead_bytes": 400,     # what every message costs on top of its transitions
    "transitions_per_message": 50,     # transitions per message
    "weight_bytes": 270_000,           # one copy of the Q-network's weights (QNetwork(4, 2, (256, 256)))
    "env_steps_per_weight_sync": 100,  # env steps between weight pulls
}


def _traffic(per_transition_overhead=False, count_overhead=True, pulls_per_step=False):
    """(bytes/s the actor sends, bytes/s of weights it receives); the keywords build common mistakes."""
    e = APEX_TRAFFIC
    steps = e["env_steps_per_s"]
    messages = steps if per_transition_overhead else steps / e["transitions_per_message"]
    sent = steps * e["transition_bytes"] + (messages * e["message_overhead_bytes"] if count_overhead else 0)
    pulls = steps if pulls_per_step else steps / e["env_steps_per_weight_sync"]
    return sent, pulls * e["weight_bytes"]


def check_apex_traffic(answer) -> Verdict:
    """Exercise: (bytes per second one actor sends, bytes per second of weights it receives) for
    ``APEX_TRAFFIC``."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (2,))
    if arr is None:
        return report(False, tr("give two numbers, (bytes/s sent, bytes/s of weights received), got {answer!r}.",
                                answer=answer))
    sent, received = arr
    right_sent, right_received = _traffic()
    if np.isclose(sent, right_sent, rtol=1e-3) and np.isclose(received, right_received, rtol=1e-3):
        return report(True, tr("{sent_kb:,.0f} kB/s out, {received_mb:,.1f} MB/s in: the weights, not the "
                               "experience, are most of the traffic. Raising env_steps_per_weight_sync is the cheap "
                               "fix; the price is policy lag (the knob sweep above).",
                               sent_kb=right_sent / 1e3, received_mb=right_received / 1e6))
    if np.isclose(sent, _traffic(per_transition_overhead=True)[0], rtol=1e-3):
        return report(False, tr("the overhead is paid once per MESSAGE, and a message carries "
                                "transitions_per_message = {count} transitions.",
                                count=APEX_TRAFFIC["transitions_per_message"]))
    if np.isclose(sent, _traffic(count_overhead=False)[0], rtol=1e-3):
        return report(False, tr("add the fixed cost of each message: env_steps_per_s / transitions_per_message "
                                "messages per second, each with message_overhead_bytes."))
    if np.isclose(received, _traffic(pulls_per_step=True)[1], rtol=1e-3):
        return report(False, tr("the actor pulls weights once every env_steps_per_weight_sync env steps, not every "
                                "step."))
    if not np.isclose(sent, right_sent, rtol=1e-3):
        return report(False, tr("bytes sent per second = transitions/s x transition_bytes + messages/s x "
                                "message_overhead_bytes."))
    return report(False, tr("bytes received per second = pulls/s x weight_bytes, with pulls/s = env_steps_per_s / "
                            "env_steps_per_weight_sync."))


SOLUTIONS = {
    "scaling_statements": lambda: sorted(_SCALING_TRUE),
    "server_saturation": lambda: [round(x, 4) for x in _server_numbers()],
    "apex_traffic": lambda: [float(x) for x in _traffic()],
}
