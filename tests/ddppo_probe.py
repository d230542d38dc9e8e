"""A worker for tests/test_ddppo.py (spawned processes import it by name): one gradient, all-reduced."""

import time

import torch

from rlteach import ddppo


def probe_batch(rank: int, n: int = 16):
    """Worker ``rank``'s own data: observations and actions that differ between workers."""
    g = torch.Generator().manual_seed(100 + rank)
    return torch.randn(n, 4, generator=g), torch.randint(0, 2, (n,), generator=g)


def probe_gradient(model, rank: int) -> list:
    """A loss of worker ``rank``'s own batch (a policy term and a value term), backpropagated into .grad."""
    obs, actions = probe_batch(rank)
    logits, values = model(obs)
    loss = -torch.distributions.Categorical(logits=logits).log_prob(actions).mean() + (values ** 2).mean()
    model.zero_grad()
    loss.backward()
    return [p.grad.clone() for p in model.parameters()]


def allreduce_probe(ctx, config, host, port):
    """Join the group, compute this worker's gradient, average it with ``ddppo.average_gradients``; send both."""
    if ddppo.join_group(config, ctx, host, port) is None:
        return
    try:
        torch.manual_seed(0)
        model = ddppo.build_model(config)
        own = probe_gradient(model, ctx.index)
        ddppo.average_gradients(model)
        ctx.put((ctx.index, own, [p.grad.clone() for p in model.parameters()]))
        while not ctx.should_stop():
            time.sleep(0.01)
    finally:
        torch.distributed.destroy_process_group()
