"""A thread that keeps reseeding and drawing from torch's global generator: what other workers' draws look
like to a worker on the thread backend. A worker with its own generator must not notice it."""

import contextlib
import threading

import torch


@contextlib.contextmanager
def global_generator_noise():
    stop = threading.Event()

    def reseed():
        while not stop.is_set():
            torch.manual_seed(123)
            torch.rand(1)

    noise = threading.Thread(target=reseed, daemon=True)
    noise.start()
    try:
        yield
    finally:
        stop.set()
        noise.join()
