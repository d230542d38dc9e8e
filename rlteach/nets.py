"""Small networks for vector observations: an actor-critic MLP (``ActorCritic``) and a Q-network (``QNetwork``).

ActorCritic(obs_dim, num_actions, hidden=(64, 64), shared=False)
    observation -> (logits of pi(a|s) [B, A], value V(s) [B])
    shared=False (default): two separate torsos, one for the policy, one for the value. The two losses
        then cannot disturb each other's features; on small tasks like CartPole this learns more reliably.
    shared=True: one torso feeds both heads (fewer weights, as in the A3C paper's Atari network); the
        value loss then also shapes the policy's features, so its coefficient matters more.

NumpyPolicy(model, seed) samples a ~ pi(.|s) for one observation in NumPy, reading the model's weights in
place: A3C's workers act with it (why: its docstring).

Initialisation follows common A2C/PPO practice: orthogonal weights, gain sqrt(2) in hidden layers,
0.01 for the policy head (so the first policy is almost uniform) and 1 for the value head.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
from torch import nn


def mlp(sizes, activation=nn.Tanh) -> nn.Sequential:
    """Linear layers with ``activation`` between them (none after the last)."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def _init(module: nn.Sequential, last_gain: float):
    linears = [m for m in module if isinstance(m, nn.Linear)]
    for i, layer in enumerate(linears):
        nn.init.orthogonal_(layer.weight, last_gain if i == len(linears) - 1 else math.sqrt(2))
        nn.init.zeros_(layer.bias)


class ActorCritic(nn.Module):
    """pi(a|s) as logits and V(s), for discrete actions. See the module docstring for ``shared``."""

    def __init__(self, obs_dim: int, num_actions: int, hidden=(64, 64), shared: bool = False):
        super().__init__()
        self.shared = shared
        hidden = list(hidden)
        if shared:
            self.torso = mlp([obs_dim, *hidden])
            self.torso.append(nn.Tanh())
            self.policy_head = mlp([hidden[-1], num_actions])
            self.value_head = mlp([hidden[-1], 1])
            _init(self.torso, math.sqrt(2))
        else:
            self.policy_head = mlp([obs_dim, *hidden, num_actions])
            self.value_head = mlp([obs_dim, *hidden, 1])
        _init(self.policy_head, 0.01)
        _init(self.value_head, 1.0)

    def forward(self, obs: torch.Tensor):
        """obs [..., obs_dim] -> (logits [..., A], value [...])."""
        features = self.torso(obs) if self.shared else obs
        return self.policy_head(features), self.value_head(features).squeeze(-1)

    def dist(self, obs: torch.Tensor) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.forward(obs)[0])

    def policy_logits(self, obs: torch.Tensor) -> torch.Tensor:
        """The logits of pi(.|s) alone: the value side is not computed."""
        return self.policy_head(self.torso(obs) if self.shared else obs)

    @torch.no_grad()
    def sample(self, obs, generator: torch.Generator | None = None) -> torch.Tensor:
        """a ~ pi(.|s) for acting, one env step at a time: runs only the policy side and builds no
        Distribution object, which makes one step about 3x cheaper than ``dist(obs).sample()``. Draws from
        ``generator`` (a worker's own) when given, else from torch's global generator."""
        obs = torch.as_tensor(obs, dtype=torch.float32, device=next(self.parameters()).device)
        logits = self.policy_logits(obs)
        probs = torch.softmax(logits, -1).reshape(-1, logits.shape[-1])
        return torch.multinomial(probs, 1, generator=generator).reshape(logits.shape[:-1])

    @torch.no_grad()
    def greedy(self, obs) -> torch.Tensor:
        """argmax_a pi(a|s), for evaluation."""
        obs = torch.as_tensor(obs, dtype=torch.float32, device=next(self.parameters()).device)
        return self.forward(obs)[0].argmax(-1)


class NumpyPolicy:
    """a ~ pi(.|s) for ONE observation, computed in NumPy on views of an ActorCritic's policy weights.

    Why: a thread that acts with torch spends about 0.1-0.3 ms of Python (module calls, op dispatch) per step
    while holding the GIL, so thread workers whose envs wait (a simulator, a robot) queue up behind each
    other for it. Measured on a 2-core machine, 8 threads stepping a 1 ms sleeping env: 2,800 env steps/s
    acting with torch, 6,500 acting with this (and 6,600 with no policy at all). The views share memory with
    the model, so ``model.load_state_dict(...)`` (a copy into the same tensors) updates this policy too.
    Actions come from ``numpy.random.default_rng(seed)``: the policy's own generator."""

    def __init__(self, model: ActorCritic, seed: int):
        if model.shared:
            raise ValueError("NumpyPolicy needs an ActorCritic with shared=False (its policy is one MLP)")
        self.layers = [(m.weight.detach().numpy(), m.bias.detach().numpy())
                       for m in model.policy_head if isinstance(m, nn.Linear)]
        self.rng = np.random.default_rng(seed)

    def sample(self, obs) -> int:
        x = np.asarray(obs, dtype=np.float32)
        for i, (weight, bias) in enumerate(self.layers):
            x = weight @ x + bias
            if i < len(self.layers) - 1:
                x = np.tanh(x)                          # the hidden activation of ``mlp`` (nn.Tanh)
        cumulative = np.cumsum(np.exp(x - x.max()))    # unnormalised softmax, summed up
        return min(int(np.searchsorted(cumulative, self.rng.random() * cumulative[-1], side="right")), len(x) - 1)


class QNetwork(nn.Module):
    """Q(s, a) for every discrete action a: observation [..., obs_dim] -> [..., A]. ReLU hidden layers.

    dueling=True (Wang et al. 2016) ends in two heads, a value V(s) and advantages A(s, a), recombined as
    Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a'): the mean is subtracted so that V and A are identifiable."""

    def __init__(self, obs_dim: int, num_actions: int, hidden=(64, 64), dueling: bool = False):
        super().__init__()
        self.dueling = dueling
        self.torso = mlp([obs_dim, *hidden], activation=nn.ReLU)
        self.torso.append(nn.ReLU())
        self.head = nn.Linear(hidden[-1], num_actions)
        self.value = nn.Linear(hidden[-1], 1) if dueling else None

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        features = self.torso(obs)
        q = self.head(features)
        if self.dueling:
            q = self.value(features) + q - q.mean(-1, keepdim=True)
        return q

    @torch.no_grad()
    def greedy(self, obs) -> torch.Tensor:
        """argmax_a Q(s, a), for acting greedily and for evaluation."""
        obs = torch.as_tensor(obs, dtype=torch.float32, device=next(self.parameters()).device)
        return self.forward(obs).argmax(-1)


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Run a block with torch using ``n`` intra-op threads, then restore the caller's setting.

    rlteach's networks are tiny: splitting a 64-unit layer over threads costs more than it saves, and
    on a 2-core machine the extra thread fights the environments (and other workers) for a core. Measured
    here: A2C on CartPole took 0.8 s to solve with one thread and 4-28 s with torch's default of two."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
