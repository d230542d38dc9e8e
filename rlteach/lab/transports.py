"""The transport alone: what it costs to move one payload to another process, three ways.

Weight-sized payloads (the state_dicts of rlteach's own networks, plus a ~4 MB one to show the scaling) and
trajectory-sized ones (an IMPALA unroll, an Ape-X message of 50 n-step transitions; ``rlteach.lab.payloads``),
each moved to another process by (a) pickling onto a multiprocessing queue, (b) copying through tensors
preallocated in shared memory (as ``rlteach.local_pool.SharedWeights`` does), (c) Ray's object store.
``transport_benchmark`` reports the delivery round trip (latency) and the streaming rate (bytes/s), and
checks that the receiver got exactly what was sent.

Every transport is a sender here and a receiver elsewhere: a spawned child process (a, b) or a Ray actor (c).
The children import this module again, so its top level imports only the standard library, numpy and
``rlteach.lab.payloads``; torch and Ray are imported where they are used.
"""

from __future__ import annotations

import pickle
import queue
import time

import numpy as np

from rlteach.lab.payloads import checksum, default_payloads, payload_bytes

TRANSPORTS = ("mp_queue", "shared_memory", "ray")

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

        self.ray, self.actor = ray, None
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
      latencies_s     every one of those round trips (the repeats ``rlteach.verdict.compare`` needs)
      bytes_per_s     streaming: payload_bytes x messages / seconds to deliver ``messages`` of them in a row,
                      until the receiver acknowledged the last one; the median of 3 such streams (one
                      scheduler hiccup on a busy machine can stall a short stream). ``messages`` is about
                      ``stream_seconds`` worth of round trips, at least 10, at most ``max_messages`` and 256 MB
      streams_bytes_per_s  the rate of each of the 3 streams (``bytes_per_s`` is their median)
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
                    streams = [_stream(transport, name, arrays, count) for _ in range(3)]
                    seconds = float(np.median(streams))
                    rows.append({"transport": transport_name, "payload": name, "kind": kind,
                                 "payload_bytes": nbytes, "pickled_bytes": len(pickle.dumps(arrays)),
                                 "latency_s": float(np.median(times)), "latency_min_s": float(min(times)),
                                 "latencies_s": [float(t) for t in times],
                                 "bytes_per_s": nbytes * count / seconds, "messages_per_s": count / seconds,
                                 "streams_bytes_per_s": [nbytes * count / t for t in streams],
                                 "messages": count, "verified": bool(verified)})
            finally:
                if transport is not None:
                    transport.close()
    return rows
