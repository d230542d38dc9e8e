"""Optimizers whose statistics live in shared memory, so that many A3C workers (threads or processes) update
one set of weights with ONE set of statistics (rlteach.a3c explains why; the A3C paper found it more robust
than one set per worker).

    SharedRMSprop   g <- alpha g + (1 - alpha) grad^2,  theta <- theta - lr grad / sqrt(g + eps)
                    (eps inside the root: the DeepMind/TensorFlow form; torch.optim.RMSprop divides by
                    sqrt(g) + eps)
    SharedAdam      one shared m, v and step count, with bias correction

``step(params, grads)`` applies one worker's gradient to the shared ``params`` in place. The statistics are
tensors in shared memory (``share_memory_()``): processes started after the optimizer see the same numbers.
"""

from __future__ import annotations

import torch


class SharedRMSprop:
    """RMSProp with ONE g per parameter for all workers: g <- alpha g + (1-alpha) grad^2,
    theta <- theta - lr grad / sqrt(g + eps). ``step(params, grads)`` updates ``params`` in place."""

    def __init__(self, params, lr, alpha=0.99, eps=1e-5):
        self.lr, self.alpha, self.eps = lr, alpha, eps
        self.g = [torch.zeros_like(p).share_memory_() for p in params]
        self.steps = torch.zeros(1, dtype=torch.int64).share_memory_()

    @torch.no_grad()
    def step(self, params, grads):
        for p, grad, g in zip(params, grads, self.g, strict=True):
            g.mul_(self.alpha).addcmul_(grad, grad, value=1 - self.alpha)
            p.addcdiv_(grad, (g + self.eps).sqrt(), value=-self.lr)
        self.steps += 1


class SharedAdam:
    """Adam with one shared m, v and step count: m <- b1 m + (1-b1) grad, v <- b2 v + (1-b2) grad^2,
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
