"""The communication lab (issue 8): what moving weights and experience between processes costs.

    .venv/bin/python benchmarks/comm_lab.py              # the full run (a few minutes)
    .venv/bin/python benchmarks/comm_lab.py --quick      # the notebook-sized run
    .venv/bin/python benchmarks/comm_lab.py --skip-ray   # no Ray anywhere

Three experiments, each an importable function (a notebook calls them with a small budget):

``transport_benchmark``  the transport alone. Weight-sized payloads (the state_dicts of rlteach's own networks,
    plus a ~4 MB one to show the scaling) and trajectory-sized ones (an IMPALA unroll, an Ape-X message of 50
    n-step transitions), each moved to another process by (a) pickling onto a multiprocessing queue, (b)
    copying through tensors preallocated in shared memory (as ``rlteach.workers.SharedWeights`` does), (c)
    Ray's object store. Reports the delivery round trip (latency) and the streaming rate (bytes/s).
``knob_sweep``  the same algorithm (Ape-X on CartPole-v1) with a fixed env-step budget while
    ``weight_sync_every`` (env steps between an actor's weight pulls) and ``send_every`` (transitions per
    message) change: env steps/s, policy lag, messages, weight copies and the bytes they moved.
``sync_vs_async``  A3C with a parameter server on Ray, synchronous against asynchronous updates.

``plot_transport`` and ``plot_knobs`` draw the results. ``main`` runs everything, prints the tables and writes
benchmarks/results/comm_lab.md, .json and two PNGs (comm_lab_quick.* with --quick). It measures; it never
asserts.

This module is imported again by every process the transport benchmark spawns (the "spawn" start method
imports the parent's main module), so its top level imports only the standard library, numpy and report.py;
torch, rlteach and Ray are imported where they are used.
"""

from __future__ import annotations

import argparse
import pickle
import queue
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from report import markdown_table, write_report

TRANSPORTS = ("mp_queue", "shared_memory", "ray")


# ---------------------------------------------------------------------------------------------------------
# Payloads: what rlteach's algorithms really send
# ---------------------------------------------------------------------------------------------------------


def _state_dict_arrays(model) -> dict:
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def default_payloads(seed=0) -> dict:
    """name -> (kind, dict of numpy arrays), smallest to largest within each kind.

    weights     the state_dicts of ``ActorCritic(4, 2, (64, 64))`` (A3C and IMPALA on CartPole),
                ``QNetwork(4, 2, (256, 256))`` (Ape-X) and ``QNetwork(4, 2, (1024, 1024))`` (about 4 MB,
                no algorithm's default: it shows how the cost grows with size)
    trajectory  an IMPALA unroll (20 steps x 4 envs, with the dtypes ``impala.actor`` puts: float32 obs and
                final_obs [20, 4, 4], int64 actions, float32 behaviour log-probs, float64 rewards, bool
                terminated and truncated [20, 4], float32 last_obs [4, 4]) and an Ape-X message of 50 n-step
                transitions built by ``replay.NStepBuilder`` from CartPole steps, with float64 priorities
                (``priorities_from_td``'s dtype). Only the arrays: a message's few small scalars are left out.
    """
    import gymnasium as gym
    import torch

    from rlteach.nets import ActorCritic, QNetwork
    from rlteach.replay import NStepBuilder, stack

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    T, E = 20, 4
    unroll = {"obs": rng.normal(size=(T, E, 4)).astype(np.float32),
              "actions": rng.integers(0, 2, size=(T, E)).astype(np.int64),
              "behaviour_log_probs": np.log(rng.uniform(0.3, 0.7, size=(T, E))).astype(np.float32),
              "rewards": np.ones((T, E), dtype=np.float64),
              "terminated": rng.random((T, E)) < 0.05, "truncated": np.zeros((T, E), dtype=bool),
              "final_obs": rng.normal(size=(T, E, 4)).astype(np.float32),
              "last_obs": rng.normal(size=(E, 4)).astype(np.float32)}
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=seed)
    builder, transitions = NStepBuilder(3, 0.99), []
    while len(transitions) < 50:
        action = int(rng.integers(2))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        transitions += builder.add(obs, action, reward, next_obs, terminated, truncated)
        obs = env.reset()[0] if terminated or truncated else next_obs
    env.close()
    message = stack(transitions[:50])
    message["priorities"] = rng.uniform(1e-3, 2.0, size=50)            # float64, as priorities_from_td
    return {"A3C/IMPALA weights": ("weights", _state_dict_arrays(ActorCritic(4, 2, (64, 64)))),
            "Ape-X weights": ("weights", _state_dict_arrays(QNetwork(4, 2, (256, 256)))),
            "4 MB weights": ("weights", _state_dict_arrays(QNetwork(4, 2, (1024, 1024)))),
            "Ape-X message (50 transitions)": ("trajectory", message),
            "IMPALA unroll (20 x 4 envs)": ("trajectory", unroll)}


def payload_bytes(arrays) -> int:
    """The bytes of data in a payload: the sum of its arrays' nbytes."""
    return int(sum(a.nbytes for a in arrays.values()))


def checksum(arrays) -> int:
    """CRC32 over every array's name, dtype, shape and bytes: equal only for exactly the same payload."""
    crc = 0
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        crc = zlib.crc32(f"{name}:{a.dtype.str}:{a.shape}".encode(), crc)
        crc = zlib.crc32(a.view(np.uint8).reshape(-1), crc)
    return crc


# ---------------------------------------------------------------------------------------------------------
# The receivers (child processes) and one sender class per transport
# ---------------------------------------------------------------------------------------------------------
# Every message carries a tag: "ack" (reply None once the payload is copied), "check" (reply its checksum),
# "quiet" (no reply: the middle of a stream; the queue is FIFO, so the final "ack" covers them all).


def _queue_echo(inbox, outbox):
    """Child of the mp_queue transport: ``inbox.get()`` unpickles a private copy of the payload."""
    while (message := inbox.get()) is not None:
        tag, arrays = message
        if tag != "quiet":
            outbox.put(checksum(arrays) if tag == "check" else None)


def _shared_echo(buffers, inbox, outbox):
    """Child of the shared_memory transport: on a signal, copy the shared tensors into private ones."""
    import torch

    torch.set_num_threads(1)
    private = {name: {k: torch.empty_like(t) for k, t in tensors.items()} for name, tensors in buffers.items()}
    while (message := inbox.get()) is not None:
        tag, name = message
        for k, t in buffers[name].items():
            private[name][k].copy_(t)
        if tag != "quiet":
            outbox.put(checksum({k: t.numpy() for k, t in private[name].items()}) if tag == "check" else None)


class _ProcessTransport:
    """A spawned receiver and two queues (torch.multiprocessing, "spawn" context); ``close`` always ends it."""

    def __init__(self, target, extra_args=()):
        import torch.multiprocessing as tmp

        ctx = tmp.get_context("spawn")
        self.inbox, self.outbox = ctx.Queue(), ctx.Queue()
        self.process = ctx.Process(target=target, args=(*extra_args, self.inbox, self.outbox), daemon=True,
                                   name="comm-lab-receiver")
        self.process.start()

    def reply(self, timeout=60.0):
        """The receiver's reply; raises at once if the receiver died, or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.outbox.get(timeout=0.5)
            except queue.Empty:
                if not self.process.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"the receiver did not answer (alive: {self.process.is_alive()}, "
                                       f"exit code {self.process.exitcode})") from None

    def close(self):
        try:
            if self.process.is_alive():
                self.inbox.put(None)
            self.process.join(timeout=5)
        finally:
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(timeout=2)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
            for q in (self.inbox, self.outbox):
                q.cancel_join_thread()
                q.close()


class MPQueueTransport(_ProcessTransport):
    """(a) Pickle the payload (a dict of numpy arrays: plain pickling, not torch's shared-memory reduction of
    tensors) onto a multiprocessing queue; the child unpickles it into its own arrays."""

    name = "mp_queue"

    def __init__(self, payloads):
        super().__init__(_queue_echo)

    def send(self, name, arrays, tag):
        self.inbox.put((tag, arrays))
        return None if tag == "quiet" else self.reply()


class SharedMemoryTransport(_ProcessTransport):
    """(b) One set of tensors per payload preallocated in shared memory (``share_memory_()``) and handed to the
    child at start. A send copies the payload in, signals the child with a tiny queue message (the payload's
    name), and the child copies it out. One buffer per payload, so the sender must wait for the child's
    reply before it may overwrite it: every message, streamed or not, is a full round trip."""

    name = "shared_memory"

    def __init__(self, payloads):
        import torch

        self.sources = {name: {k: torch.from_numpy(a) for k, a in arrays.items()} for name, arrays in payloads.items()}
        self.buffers = {name: {k: t.clone().share_memory_() for k, t in tensors.items()}
                        for name, tensors in self.sources.items()}
        super().__init__(_shared_echo, (self.buffers,))

    def send(self, name, arrays, tag):
        for k, t in self.sources[name].items():
            self.buffers[name][k].copy_(t)
        self.inbox.put(("ack" if tag == "quiet" else tag, name))
        return self.reply()


class _RayEcho:
    """The Ray receiver: ``ray.get`` the payload from the object store and copy it out of the (read-only,
    zero-copy) arrays Ray returns, as ``load_state_dict`` would."""

    def receive(self, refs, tag):
        import ray

        arrays = {k: np.array(v) for k, v in ray.get(refs[0]).items()}
        return checksum(arrays) if tag == "check" else None


class RayTransport:
    """(c) ``ray.put`` the payload into the object store, pass its reference to a Ray actor (inside a list,
    so Ray does not resolve it for the actor), which ``ray.get``s it. Streams are pipelined: all puts and
    calls are submitted, then every reply is awaited. Uses the Ray this process is connected to, if any;
    otherwise starts its own local one (``address="local"``: never joins another process's Ray on this
    machine; no dashboard; ``rlteach.ray_backend.ray_init``) and shuts down only a Ray it started."""

    name = "ray"

    def __init__(self, payloads):
        from rlteach.ray_backend import ray_init

        self.started = ray_init()               # a local Ray of our own, unless one runs in this process
        import ray

        self.ray, self.actor, self.by_value = ray, None, None
        module = sys.modules[__name__]
        if __name__ != "__main__":      # imported from benchmarks/ (not a package): Ray's workers cannot
            ray.cloudpickle.register_pickle_by_value(module)    # import it, so ship _RayEcho by value
            self.by_value = module
        self.actor = ray.remote(num_cpus=1)(_RayEcho).remote()
        ray.get(self.actor.__ray_ready__.remote())

    def send(self, name, arrays, tag):
        return self.ray.get(self.actor.receive.remote([self.ray.put(arrays)], tag))

    def stream(self, name, arrays, count):
        replies = [self.actor.receive.remote([self.ray.put(arrays)], "ack") for _ in range(count)]
        self.ray.get(replies)

    def close(self):
        try:
            if self.actor is not None:
                self.ray.kill(self.actor)
        finally:
            if self.by_value is not None:
                self.ray.cloudpickle.unregister_pickle_by_value(self.by_value)
            if self.started:
                self.ray.shutdown()


TRANSPORT_CLASSES = {c.name: c for c in (MPQueueTransport, SharedMemoryTransport, RayTransport)}


def _stream(transport, name, arrays, count) -> float:
    """Seconds to deliver ``count`` messages of ``arrays`` one after another (the last one acknowledged)."""
    t0 = time.perf_counter()
    if hasattr(transport, "stream"):
        transport.stream(name, arrays, count)
    else:
        for _ in range(count - 1):
            transport.send(name, arrays, "quiet")
        transport.send(name, arrays, "ack")
    return time.perf_counter() - t0


def _select_payloads(sizes) -> dict:
    if sizes is None:
        return default_payloads()
    if isinstance(sizes, dict):
        return {name: value if isinstance(value, tuple) else ("custom", value) for name, value in sizes.items()}
    chosen, defaults = {}, None
    for size in sizes:
        if isinstance(size, str):
            defaults = defaults or default_payloads()
            if size not in defaults:
                raise ValueError(f"unknown payload {size!r}; choose from {list(defaults)} or give byte sizes")
            chosen[size] = defaults[size]
        else:
            n = int(size)
            if n < 4:
                raise ValueError(f"a payload of {size!r} bytes is too small: at least 4 (one float32)")
            chosen[f"{n:,} B"] = ("custom", {"data": np.random.default_rng(n).random(n // 4, dtype=np.float32)})
    return chosen


def transport_benchmark(sizes=None, repeats=10, transports=TRANSPORTS, stream_seconds=0.03, max_messages=1000):
    """Move each payload to another process over each transport; one row per (transport, payload).

    ``sizes``: None for ``default_payloads()``; or a list of their names and/or byte counts (a byte count n
    makes one float32 array of n // 4 values); or a dict name -> dict of numpy arrays.

    Row fields:
      payload_bytes   the data: the sum of the arrays' nbytes
      pickled_bytes   ``len(pickle.dumps(arrays))``: what the mp_queue transport writes into its pipe (plus a
                      few bytes for the message tag)
      latency_s       the median DELIVERY ROUND TRIP over ``repeats`` sends (after 2 untimed ones): from the
                      moment the sender starts handing the payload over (pickling / copying into shared
                      memory / ray.put) until it holds the receiver's tiny acknowledgement that the receiver
                      has its own copy of all of it. So one payload one way plus one tiny message back; a
                      one-way time is not measured (it would need clocks agreeing across processes).
      latency_min_s   the fastest of those round trips
      bytes_per_s     streaming: payload_bytes x messages / seconds to deliver ``messages`` of them in a row,
                      until the receiver acknowledged the last one; the median of 3 such streams (one
                      scheduler hiccup on a busy machine can stall a short stream). ``messages`` is about
                      ``stream_seconds`` worth of round trips, at least 10, at most ``max_messages`` and 256 MB
      messages_per_s  the same streams counted in messages
      verified        the receiver's checksum of what it got (``checksum``) equals the sender's: the transport
                      delivered exactly the payload

    Each transport gets one receiver (a spawned process, or a Ray actor) for all payloads, and that receiver
    is ended before this returns, also after an error."""
    unknown = set(transports) - set(TRANSPORT_CLASSES)
    if unknown:
        raise ValueError(f"unknown transports {sorted(unknown)}; choose from {TRANSPORTS}")
    if repeats < 1:
        raise ValueError(f"repeats={repeats!r} is not allowed: at least 1")
    from rlteach.nets import torch_threads

    payloads = _select_payloads(sizes)
    arrays_by_name = {name: arrays for name, (_, arrays) in payloads.items()}
    rows = []
    with torch_threads(1):
        for transport_name in transports:
            transport = None
            try:
                transport = TRANSPORT_CLASSES[transport_name](arrays_by_name)
                for name, (kind, arrays) in payloads.items():
                    expected = checksum(arrays)
                    verified = transport.send(name, arrays, "check") == expected
                    transport.send(name, arrays, "ack")
                    times = []
                    for _ in range(repeats):
                        t0 = time.perf_counter()
                        transport.send(name, arrays, "ack")
                        times.append(time.perf_counter() - t0)
                    nbytes = payload_bytes(arrays)
                    count = int(min(max_messages, 256e6 // nbytes, max(10, stream_seconds / min(times))))
                    seconds = float(np.median([_stream(transport, name, arrays, count) for _ in range(3)]))
                    rows.append({"transport": transport_name, "payload": name, "kind": kind,
                                 "payload_bytes": nbytes, "pickled_bytes": len(pickle.dumps(arrays)),
                                 "latency_s": float(np.median(times)), "latency_min_s": float(min(times)),
                                 "bytes_per_s": nbytes * count / seconds, "messages_per_s": count / seconds,
                                 "messages": count, "verified": bool(verified)})
            finally:
                if transport is not None:
                    transport.close()
    return rows


# ---------------------------------------------------------------------------------------------------------
# The knobs of Ape-X: weight_sync_every and send_every
# ---------------------------------------------------------------------------------------------------------


def apex_message_bytes(config) -> tuple[int, float]:
    """(bytes per message, bytes per transition) of Ape-X's pickled messages, measured on real ones.

    Runs ``apex.actor`` here for 3 messages of ``send_every = 50`` transitions and pickles them, and the same
    messages cut to one transition; a message of n transitions then pickles to ``overhead + n * per_transition``
    bytes (messages vary in size: flow control sends part-full ones)."""
    import dataclasses

    from rlteach import apex
    from rlteach.workers import InProcessContext

    config = dataclasses.replace(config, send_every=50, num_actors=1)
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


def knob_sweep(weight_sync_every=(1, 100, 1000), send_every=(1, 50, 200), total_steps=4000, backend="process",
               seed=0, fixed_send_every=50, fixed_weight_sync_every=100, num_actors=2, progress=False):
    """Ape-X on CartPole-v1, ``total_steps`` env steps per setting, no evaluation, no early stop; vary
    ``weight_sync_every`` at ``send_every = fixed_send_every``, then ``send_every`` at ``weight_sync_every =
    fixed_weight_sync_every`` (a setting in both series runs once). One row per (series, value).

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
    import numbers

    from rlteach import apex

    base = apex.Config(backend=backend, seed=seed, total_steps=total_steps, num_actors=num_actors,
                       stop_when_solved=False, eval_every=None)
    plan = [("weight_sync_every", w, fixed_send_every) for w in weight_sync_every]
    plan += [("send_every", fixed_weight_sync_every, s) for s in send_every]
    for _, w, s in plan:
        for value in (w, s):
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"weight_sync_every and send_every must be integers >= 1, got {value!r}")
    overhead, per_transition = apex_message_bytes(base)
    weight_size = len(pickle.dumps(apex.build_model(base).state_dict()))
    done, rows = {}, []
    for varied, w, s in plan:
        if (w, s) not in done:
            config = apex.Config(**{**base.__dict__, "weight_sync_every": w, "send_every": s})
            result = apex.train(config, progress=progress)
            r = result.records
            lag = np.asarray(r["policy_lag"], dtype=float)
            steady = float("nan")
            if len(result.episode_seconds) >= 2 and result.episode_seconds[-1] > result.episode_seconds[0]:
                steady = ((result.episode_steps[-1] - result.episode_steps[0])
                          / (result.episode_seconds[-1] - result.episode_seconds[0]))
            message_bytes = r["messages"] * overhead + result.env_steps * per_transition
            weight_bytes = r["weight_pulls"] * weight_size
            done[w, s] = {"weight_sync_every": w, "send_every": s, "env_steps": result.env_steps,
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


# ---------------------------------------------------------------------------------------------------------
# Synchronous vs asynchronous updates (A3C with a parameter server on Ray)
# ---------------------------------------------------------------------------------------------------------


def sync_vs_async(total_steps=20_000, num_workers=2, seed=0):
    """A3C with its weights in a parameter server on Ray (``rlteach.a3c.ParameterServer``), asynchronous
    (``sync=False``: the server applies each worker's gradient as it arrives) against synchronous (``sync=True``:
    it waits for one gradient from every worker and applies their mean once; workers wait for that).
    ``total_steps`` env steps each, no evaluation, no early stop.

    One row per mode: env steps/s once every worker runs (``a3c.steady_steps_per_second``), server updates,
    env steps per update, mean and largest staleness (updates others applied between a worker's pull and
    its push), and the seconds workers spent between pulling weights and pushing a gradient (median)."""
    from rlteach import a3c

    rows = []
    for flag in (False, True):
        config = a3c.Config(backend="ray", sync=flag, num_workers=num_workers, total_steps=total_steps,
                            stop_when_solved=False, eval_every=None, seed=seed)
        result = a3c.train(config, progress=False)
        r = result.records
        cycle = [row[4] - row[1] for row in r["timeline"]]        # t_applied - t_copy, per update
        rows.append({"mode": "sync" if flag else "async", "env_steps": result.env_steps,
                     "seconds": result.seconds, "steps_per_s": a3c.steady_steps_per_second(r["timeline"]),
                     "updates": r["updates"], "steps_per_update": result.env_steps / max(r["updates"], 1),
                     "staleness_mean": float(np.mean(r["staleness"])), "staleness_max": int(max(r["staleness"])),
                     "cycle_median_s": float(np.median(cycle))})
    return rows


# ---------------------------------------------------------------------------------------------------------
# Tables and plots
# ---------------------------------------------------------------------------------------------------------


def _fmt_bytes(n) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def transport_table(rows) -> str:
    header = ["transport", "payload", "data", "pickled", "round trip (median)", "round trip (min)", "streaming",
              "messages/s", "exact"]
    return markdown_table(header, [
        [r["transport"], r["payload"], _fmt_bytes(r["payload_bytes"]), _fmt_bytes(r["pickled_bytes"]),
         f"{r['latency_s'] * 1e3:.3g} ms", f"{r['latency_min_s'] * 1e3:.3g} ms", f"{_fmt_bytes(r['bytes_per_s'])}/s",
         f"{r['messages_per_s']:,.0f}", "yes" if r["verified"] else "NO"] for r in rows])


def knob_table(rows) -> str:
    header = ["varied", "weight_sync_every", "send_every", "env steps/s (wall)", "steady env steps/s", "updates",
              "lag mean", "lag p90", "messages", "weight copies", "message bytes", "weight bytes", "bytes/env step"]
    return markdown_table(header, [
        [r["varied"], str(r["weight_sync_every"]), str(r["send_every"]), f"{r['steps_per_s']:,.0f}",
         f"{r['steady_steps_per_s']:,.0f}", f"{r['updates']:,}", f"{r['lag_mean']:.1f}", f"{r['lag_p90']:.0f}",
         f"{r['messages']:,}", f"{r['weight_pulls']:,}", _fmt_bytes(r["message_bytes"]),
         _fmt_bytes(r["weight_bytes"]), _fmt_bytes(r["bytes_per_env_step"])] for r in rows])


def sync_table(rows) -> str:
    header = ["mode", "env steps/s (steady)", "server updates", "env steps per update", "staleness mean / max",
              "pull-to-push median"]
    return markdown_table(header, [
        [r["mode"], f"{r['steps_per_s']:,.0f}", str(r["updates"]), f"{r['steps_per_update']:.1f}",
         f"{r['staleness_mean']:.2f} / {r['staleness_max']}", f"{r['cycle_median_s'] * 1e3:.1f} ms"] for r in rows])


def plot_transport(rows):
    """Two log-log panels against payload size: the delivery round trip and the streaming rate, one line per
    transport, weight payloads as circles and trajectories as squares."""
    import matplotlib.pyplot as plt

    fig, (ax_lat, ax_rate) = plt.subplots(1, 2, figsize=(12, 5.5))
    for transport in dict.fromkeys(r["transport"] for r in rows):
        mine = sorted((r for r in rows if r["transport"] == transport), key=lambda r: r["payload_bytes"])
        x = [r["payload_bytes"] for r in mine]
        line, = ax_lat.plot(x, [r["latency_s"] * 1e3 for r in mine], "-", alpha=0.6, label=transport)
        ax_rate.plot(x, [r["bytes_per_s"] / 1e6 for r in mine], "-", alpha=0.6, color=line.get_color(),
                     label=transport)
        for r in mine:
            marker = "s" if r["kind"] == "trajectory" else "o"
            ax_lat.plot(r["payload_bytes"], r["latency_s"] * 1e3, marker, color=line.get_color())
            ax_rate.plot(r["payload_bytes"], r["bytes_per_s"] / 1e6, marker, color=line.get_color())
    named = {r["payload"]: r["payload_bytes"] for r in rows}
    for ax in (ax_lat, ax_rate):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("payload (bytes of array data)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(title="circles: weights, squares: trajectories", fontsize=8, title_fontsize=8)
        top = ax.secondary_xaxis("top")                 # which payload sits where
        top.set_xticks(list(named.values()), list(named), rotation=90, fontsize=7)
        top.minorticks_off()
    ax_lat.set_ylabel("delivery round trip, median (ms)")
    ax_lat.set_title("Round trip: flat for small payloads (a fixed cost per message),\n"
                     "rising with size once copying dominates")
    ax_rate.set_ylabel("streaming throughput (MB/s)")
    ax_rate.set_title("Throughput: small messages waste the link;\nbig ones approach the copy speed")
    fig.tight_layout()
    return fig


def plot_knobs(rows):
    """2 x 4 panels, top row ``weight_sync_every`` varied, bottom row ``send_every`` varied (log x): env steps/s,
    policy lag, counts (messages and weight copies) and megabytes moved."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(17, 7.5))
    titles = {"weight_sync_every": "rarer weight pulls: fewer copies, larger lag",
              "send_every": "bigger messages: fewer of them, same transitions"}
    for axrow, varied in zip(axes, ("weight_sync_every", "send_every"), strict=True):
        mine = sorted((r for r in rows if r["varied"] == varied), key=lambda r: r[varied])
        if not mine:
            for ax in axrow:
                ax.set_visible(False)
            continue
        x = [r[varied] for r in mine]
        fixed = "send_every" if varied == "weight_sync_every" else "weight_sync_every"
        ax = axrow[0]
        ax.plot(x, [r["steps_per_s"] for r in mine], "o-", label="wall (start-up included)")
        ax.plot(x, [r["steady_steps_per_s"] for r in mine], "s--", label="steady")
        ax.set_ylabel("env steps/s")
        ax.set_ylim(bottom=0)
        ax.set_title(f"Throughput ({fixed} = {mine[0][fixed]})")
        ax = axrow[1]
        ax.plot(x, [r["lag_mean"] for r in mine], "o-", label="mean")
        ax.plot(x, [r["lag_p90"] for r in mine], "s--", label="90th percentile")
        ax.set_yscale("symlog", linthresh=1)
        ax.set_ylabel("policy lag (learner updates)")
        ax.set_title("Policy lag per message")
        ax = axrow[2]
        ax.plot(x, [r["messages"] for r in mine], "o-", label="messages")
        ax.plot(x, [r["weight_pulls"] for r in mine], "s--", label="weight copies")
        ax.set_yscale("log")
        ax.set_ylabel("count per run")
        ax.set_title(titles[varied])
        ax = axrow[3]
        ax.plot(x, [r["message_bytes"] / 1e6 for r in mine], "o-", label="messages (pickled)")
        ax.plot(x, [r["weight_bytes"] / 1e6 for r in mine], "s--", label="weight copies")
        ax.set_yscale("log")
        ax.set_ylabel("MB moved per run")
        ax.set_title(f"Bytes moved ({mine[0]['env_steps']:,} env steps)")
        for ax in axrow:
            ax.set_xscale("log")
            ax.set_xlabel(f"{varied} ({'env steps' if varied == 'weight_sync_every' else 'transitions'})")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle("Ape-X on CartPole-v1: the weight-sync interval and the message size")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the notebook-sized run (about a minute)")
    parser.add_argument("--skip-ray", action="store_true", help="no Ray transport and no sync-vs-async run")
    parser.add_argument("--backend", default="process", choices=("thread", "process"),
                        help="Ape-X backend of the knob sweep")
    parser.add_argument("--env-steps", type=int, default=None,
                        help="env steps per knob setting (default 4,000 with --quick, 30,000 otherwise)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    transports = tuple(t for t in TRANSPORTS if not (args.skip_ray and t == "ray"))
    t_start = time.perf_counter()
    data, sections = {}, []

    if args.quick:
        transport_rows = transport_benchmark(transports=transports)
    else:
        transport_rows = transport_benchmark(repeats=50, transports=transports, stream_seconds=0.3, max_messages=5000)
    data["transport"] = transport_rows
    sections += ["## Transports: one payload to another process and an acknowledgement back", "",
                 "Round trip: payload there, a tiny reply back (median and fastest). Streaming: many payloads in a "
                 "row until the last is acknowledged; shared memory has one buffer per payload, so it waits for "
                 "every reply. 'exact': the receiver's CRC32 of what it got equals the sender's.", "",
                 transport_table(transport_rows), ""]
    print(transport_table(transport_rows), flush=True)

    if args.quick:
        knob_rows = knob_sweep(total_steps=args.env_steps or 4000, backend=args.backend)
    else:
        knob_rows = knob_sweep(weight_sync_every=(1, 10, 100, 1000), send_every=(1, 10, 50, 200),
                               total_steps=args.env_steps or 30_000, backend=args.backend)
    data["knobs"] = knob_rows
    sections += [f"## Ape-X knobs ({knob_rows[0]['env_steps']:,}+ env steps per setting, {args.backend} backend, "
                 "2 actors)", "",
                 f"Bytes: a message pickles to {knob_rows[0]['message_overhead_bytes']} B + "
                 f"{knob_rows[0]['transition_bytes']:.1f} B per transition; a weight copy is "
                 f"{_fmt_bytes(knob_rows[0]['weights_pickled_bytes'])} (pickled state_dict).", "",
                 knob_table(knob_rows), ""]
    print(knob_table(knob_rows), flush=True)

    if not args.skip_ray:
        try:
            sync_rows = sync_vs_async(total_steps=5000 if args.quick else 20_000)
            data["sync_vs_async"] = sync_rows
            sections += ["## A3C on Ray: synchronous vs asynchronous updates", "", sync_table(sync_rows), ""]
        except Exception as exc:  # noqa: BLE001 - the other results still get reported
            message = f"sync_vs_async failed ({type(exc).__name__}: {exc}); its table is left out."
            print(message, flush=True)
            data["sync_vs_async"] = message
            sections += ["## A3C on Ray: synchronous vs asynchronous updates", "", message, ""]

    name = "comm_lab_quick" if args.quick else "comm_lab"
    seconds = time.perf_counter() - t_start
    data["seconds"] = seconds
    table = "\n".join([f"# Communication lab ({'--quick, ' if args.quick else ''}{seconds:.0f} s in all)", "",
                       *sections, f"Plots: {name}_transport.png, {name}_knobs.png"])
    write_report(args.out, name, table, data)
    out = Path(args.out)
    plot_transport(transport_rows).savefig(out / f"{name}_transport.png", dpi=110)
    plot_knobs(knob_rows).savefig(out / f"{name}_knobs.png", dpi=110)


if __name__ == "__main__":
    main()
