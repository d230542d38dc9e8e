"""The two knobs of Ape-X that decide how much its actors say: ``env_steps_per_weight_sync`` (env steps between an
actor's weight pulls) and ``transitions_per_message`` (transitions per message).

``knob_sweep`` trains the same algorithm (Ape-X on CartPole-v1) with a fixed env-step budget while one knob
changes and the other stays put, and counts what moved: env steps/s, policy lag, messages, weight copies and
the bytes they carried. The bytes of a message are measured once, by pickling real ones
(``apex_message_bytes``); the rest is counted in the runs.
"""

from __future__ import annotations

import dataclasses
import numbers
import pickle

import numpy as np


def apex_message_bytes(config) -> tuple[int, float]:
    """(bytes per message, bytes per transition) of Ape-X's pickled messages, measured on real ones.

    Runs ``apex.actor`` here for 3 messages of ``transitions_per_message = 50`` transitions and pickles them, and
    the same messages cut to one transition; a message of n transitions then pickles to
    ``overhead + n * per_transition`` bytes (messages vary in size: flow control sends part-full ones)."""
    from rlteach import apex
    from rlteach.workers import InProcessContext

    config = dataclasses.replace(config, transitions_per_message=50, num_actors=1)
    ctx = InProcessContext(apex.build_model(config).state_dict(), stop_after=3)
    apex.actor(ctx, config)
    full = [m for m in ctx.sent if len(m[2]) == 50]
    if not full:
        raise RuntimeError("the actor sent no full message of 50 transitions")
    message = full[0]

    def cut(m, n):
        index, batch, priorities, *rest = m
        return (index, {k: v[:n] for k, v in batch.items()}, priorities[:n], *rest)

    size_full, size_one = len(pickle.dumps(message)), len(pickle.dumps(cut(message, 1)))
    per_transition = (size_full - size_one) / 49
    return int(round(size_one - per_transition)), per_transition


def knob_sweep(env_steps_per_weight_sync=(1, 100, 1000), transitions_per_message=(1, 50, 200), total_steps=4000,
               backend="process", seed=0, fixed_transitions_per_message=50, fixed_env_steps_per_weight_sync=100,
               num_actors=2, progress=False):
    """Ape-X on CartPole-v1, ``total_steps`` env steps per setting, no evaluation, no early stop; vary
    ``env_steps_per_weight_sync`` at ``transitions_per_message = fixed_transitions_per_message``, then
    ``transitions_per_message`` at ``env_steps_per_weight_sync = fixed_env_steps_per_weight_sync`` (a setting in
    both series runs once). One row per (series, value).

    Row fields (counted in the run, except the two byte sizes, measured once by pickling):
      steps_per_s          env steps / wall seconds of ``apex.train``, process start-up included
      steady_steps_per_s   env steps / seconds between the first and the last finished episode (start-up excluded)
      lag_mean, lag_p90    policy lag per message: learner updates minus the weight version the actor used
      messages             messages the learner received (``records["messages"]``)
      weight_pulls         weight copies the actors made (``records["weight_pulls"]``)
      message_bytes        sum over messages of their pickled size: messages x overhead + transitions x
                           per-transition bytes (``apex_message_bytes``), transitions taken as env steps
      weight_bytes         weight_pulls x ``len(pickle.dumps(q.state_dict()))``. (On the process backend a pull
                           is a copy out of shared memory of about this many bytes; nothing is pickled.)
    """
    from rlteach import apex

    base = apex.Config(backend=backend, seed=seed, total_steps=total_steps, num_actors=num_actors,
                       stop_when_solved=False, eval_every=None)
    plan = [("env_steps_per_weight_sync", w, fixed_transitions_per_message) for w in env_steps_per_weight_sync]
    plan += [("transitions_per_message", fixed_env_steps_per_weight_sync, s) for s in transitions_per_message]
    for _, w, s in plan:
        for value in (w, s):
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"env_steps_per_weight_sync and transitions_per_message must be integers >= 1, "
                                 f"got {value!r}")
    overhead, per_transition = apex_message_bytes(base)
    weight_size = len(pickle.dumps(apex.build_model(base).state_dict()))
    done, rows = {}, []
    for varied, w, s in plan:
        if (w, s) not in done:
            config = apex.Config(**{**base.__dict__, "env_steps_per_weight_sync": w, "transitions_per_message": s})
            result = apex.train(config, progress=progress)
            r = result.records
            lag = np.asarray(r["policy_lag"], dtype=float)
            steady = float("nan")
            if len(result.episode_seconds) >= 2 and result.episode_seconds[-1] > result.episode_seconds[0]:
                steady = ((result.episode_steps[-1] - result.episode_steps[0])
                          / (result.episode_seconds[-1] - result.episode_seconds[0]))
            message_bytes = r["messages"] * overhead + result.env_steps * per_transition
            weight_bytes = r["weight_pulls"] * weight_size
            done[w, s] = {"env_steps_per_weight_sync": w, "transitions_per_message": s, "env_steps": result.env_steps,
                          "seconds": result.seconds, "steps_per_s": result.env_steps / result.seconds,
                          "steady_steps_per_s": steady, "updates": r["updates"],
                          "lag_mean": float(lag.mean()) if len(lag) else float("nan"),
                          "lag_p90": float(np.percentile(lag, 90)) if len(lag) else float("nan"),
                          "messages": r["messages"], "weight_pulls": r["weight_pulls"],
                          "message_bytes": float(message_bytes), "weight_bytes": float(weight_bytes),
                          "bytes_total": float(message_bytes + weight_bytes),
                          "bytes_per_env_step": float(message_bytes + weight_bytes) / max(result.env_steps, 1),
                          "message_overhead_bytes": overhead, "transition_bytes": per_transition,
                          "weights_pickled_bytes": weight_size, "backend": backend}
        rows.append({"varied": varied, **done[w, s]})
    return rows
