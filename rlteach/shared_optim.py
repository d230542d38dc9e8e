"""Optimizers whose statistics live in shared memory, so that many A3C workers (threads or processes) update
one set of weights with ONE set of statistics (rlteach.a3c explains why; the A3C paper found it more robust
than one set per worker).

    SharedRMSprop   v <- decay v + (1 - decay) g^2,  theta <- theta - lr g / sqrt(v + eps)
                    (eps inside the root: the DeepMind/TensorFlow form; torch.optim.RMSprop divides by
                    sqrt(v) + eps)
    SharedAdam      one shared m, v and step count, with bias correction

g is the gradient a worker applies; v (and Adam's m) the statistics, as in notebooks 02 and 03.

``step(params, grads)`` applies one worker's gradient to the shared ``params`` in place. The statistics are
tensors in shared memory (``share_memory_()``): processes started after the optimizer see the same numbers.
"""

from __future__ import annotations

import torch


class SharedRMSprop:
    """RMSProp with ONE v per parameter for all workers: v <- decay v + (1-decay) g^2,
    theta <- theta - lr g / sqrt(v + eps). ``step(params, grads)`` updates ``params`` in place."""

    def __init__(self, params, lr, decay=0.99, eps=1e-5):
        self.lr, self.decay, self.eps = lr, decay, eps
        self.v = [torch.zeros_like(p).share_memory_() for p in params]
        self.steps = torch.zeros(1, dtype=torch.int64).share_memory_()

    @torch.no_grad()
    def step(self, params, grads):
        for p, g, v in zip(params, grads, self.v, strict=True):
            v.mul_(self.decay).addcmul_(g, g, value=1 - self.decay)
            p.addcdiv_(g, (v + self.eps).sqrt(), value=-self.lr)
        self.steps += 1


class SharedAdam:
    """Adam with one shared m, v and step count: m <- b1 m + (1-b1) g, v <- b2 v + (1-b2) g^2,
    theta <- theta - lr m_hat / (sqrt(v_hat) + eps), with bias-corrected m_hat, v_hat."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = [torch.zeros_like(p).share_memory_() for p in params]
        self.v = [torch.zeros_like(p).share_memory_() for p in params]
        self.steps = torch.zeros(1, dtype=torch.int64).share_memory_()

    @torch.no_grad()
    def step(self, params, grads):
        self.steps += 1
        b1, b2 = self.betas
        t = int(self.steps.item())
        for p, grad, m, v in zip(params, grads, self.m, self.v, strict=True):
            m.mul_(b1).add_(grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
            p.addcdiv_(m / (1 - b1**t), (v / (1 - b2**t)).sqrt() + self.eps, value=-self.lr)
