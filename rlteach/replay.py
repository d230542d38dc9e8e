"""Proportional prioritized replay on a sum-tree, and the n-step transitions Ape-X actors put into it.

Prioritized experience replay (Schaul et al. 2016) samples transition i with probability

    P(i) = p_i^alpha / sum_k p_k^alpha                                          (PrioritizedReplay.sample)

where p_i = |delta_i| + eps is its last TD error's size (``priorities_from_td``). alpha = 0 is uniform
replay, alpha = 1 fully proportional. Sampling this way biases the learner towards surprising
transitions; the importance weights undo the bias, fully at beta = 1:

    w_j = (N * P(j))^(-beta) / max_j' w_j'        over the sampled batch j'    (PrioritizedReplay.sample)

The maximum is the BATCH's, as Dopamine and Acme take it, so the largest weight of every batch is 1. The
paper's Algorithm 1 writes w_j = (N * P(j))^(-beta) / max_i w_i, which others (OpenAI Baselines, for one)
read as the maximum over the whole buffer, (N * min_i P(i))^(-beta), kept with a second tree for the
smallest priority. Within one batch the two differ by a common factor only: the same direction, a step
that is never larger with the buffer's maximum, and smaller when one stored transition is very unlikely.

The learner multiplies each sample's loss by w_j and sends back new priorities (``update_priorities``).
Ape-X (Horgan et al. 2018) feeds one such buffer from many actors; each actor turns its own stream of
steps into n-step transitions with ``NStepBuilder`` and the learner's TD target is

    target = reward + (1 - done) * discount * max_a Q_target(next_obs, a)

with reward = r_t + gamma r_{t+1} + ... + gamma^(k-1) r_{t+k-1} and discount = gamma^k already in the
transition, k the number of rewards it sums (Ape-X's learner uses the double DQN form of the bootstrap term:
``apex.n_step_td``).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

from rlteach.checks import check_int, check_nonnegative_array, check_real

__all__ = ["SumTree", "PrioritizedReplay", "priorities_from_td", "NStepBuilder", "stack"]


# ---------------------------------------------------------------------------------------------------------
# The sum-tree: sample proportionally to stored values in O(log capacity)
# ---------------------------------------------------------------------------------------------------------


class SumTree:
    """A binary tree whose leaves hold non-negative values and whose every internal node holds the sum of
    its two children, so the root is the total and ``find`` walks from the root to a leaf in log2 steps.

    Layout: one float64 array ``tree`` of size 2 * leaf0, ``leaf0`` the number of leaves: the smallest power
    of two >= capacity. The root is ``tree[1]``, node k has children 2k and 2k+1, leaf i is
    ``tree[leaf0 + i]``. Leaves capacity..leaf0-1 are padding that stays 0, so ``find`` never returns them.

    No drift: ``update`` writes the leaves and then RECOMPUTES each ancestor as ``tree[2k] + tree[2k+1]``,
    level by level, instead of adding the change (delta) to it. Every internal node is therefore always
    exactly the float sum of its children, whatever happened before: rounding errors cannot pile up over
    millions of updates, and setting every leaf to 0 gives a total of exactly 0.0.
    """

    def __init__(self, capacity: int):
        self.capacity = check_int("capacity", capacity, 1)
        self.depth = int(capacity - 1).bit_length()          # 2**depth leaves, at least capacity
        self.leaf0 = 1 << self.depth                          # the number of leaves, and the index of leaf 0
        self.tree = np.zeros(2 * self.leaf0, dtype=np.float64)
        self.children = self.tree.reshape(-1, 2)             # a view: children[k] = (tree[2k], tree[2k+1])

    def __len__(self) -> int:
        return self.capacity                                  # the number of leaves, as for a list

    @property
    def total(self) -> float:
        """The sum of all leaves (the root)."""
        return float(self.tree[1])

    def __getitem__(self, indices):
        """Leaf values at ``indices`` (an int or an int array)."""
        return self.tree[self._check_indices(indices) + self.leaf0]

    def _check_indices(self, indices) -> np.ndarray:
        idx = np.asarray(indices)
        if idx.dtype.kind not in "iu" and idx.size:
            raise ValueError(f"indices must be integers, got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.capacity):
            bad = idx[(idx < 0) | (idx >= self.capacity)].ravel()[0]
            raise ValueError(f"index {bad} is outside the allowed range [0, {self.capacity})")
        return idx.astype(np.int64, copy=False)

    def update(self, indices, values) -> None:
        """Set leaf ``indices[j]`` to ``values[j]`` (scalars broadcast); when an index repeats, the last
        value wins. Then recompute the ancestors of the changed leaves, one tree level at a time."""
        idx = self._check_indices(indices).ravel()
        values = check_nonnegative_array("values", values)
        if values.size not in (1, idx.size):
            raise ValueError(f"values has {values.size} entries for {idx.size} indices; allowed: 1 or {idx.size}")
        values = np.broadcast_to(values.ravel(), idx.shape)
        last = idx.size - 1 - np.unique(idx[::-1], return_index=True)[1]   # the last occurrence of each
        nodes = idx[last] + self.leaf0
        self.tree[nodes] = values[last]
        for _ in range(self.depth):                           # leaves -> root, one level per step
            nodes = nodes >> 1
            pair = self.children.take(nodes, axis=0)
            self.tree[nodes] = pair[:, 0] + pair[:, 1]        # the sum of the children, never += delta

    def find(self, masses) -> np.ndarray:
        """For each mass u in [0, total], the leaf i with prefix(i) <= u < prefix(i + 1), where
        prefix(i) = sum of leaves 0..i-1. At u = total it is the last non-zero leaf.

        A zero leaf is never returned: the walk goes right only into a subtree whose sum is > 0, so it
        never ends on an empty leaf, even when rounding leaves a mass at or past a subtree's sum.
        """
        u = np.array(masses, dtype=np.float64).ravel()        # a copy: the walk subtracts from it
        total = self.tree[1]
        if total <= 0:
            raise ValueError("find needs total > 0, but every leaf of the sum-tree is 0")
        if not (u >= 0).all() or not (u <= total).all():
            bad = u[~((u >= 0) & (u <= total))][0]
            raise ValueError(f"mass {float(bad)} is outside the allowed range [0, total={float(total)}]")
        nodes = np.ones(u.shape, dtype=np.int64)
        for _ in range(self.depth):                           # root -> leaves, one level per step
            pair = self.children.take(nodes, axis=0)
            left = pair[:, 0]
            go_right = (u >= left) & (pair[:, 1] > 0)         # right only into a subtree with sum > 0
            u -= left * go_right                              # the mass left over inside the right child
            nodes = 2 * nodes + go_right
        return (nodes - self.leaf0).reshape(np.shape(masses))


# ---------------------------------------------------------------------------------------------------------
# Proportional prioritized replay
# ---------------------------------------------------------------------------------------------------------


def priorities_from_td(td_errors, eps: float = 1e-6) -> np.ndarray:
    """Priorities ``p = |delta| + eps`` from TD errors (numpy or torch), as a float64 numpy array.
    eps > 0 keeps every transition sampleable after its TD error reaches 0."""
    eps = check_real("eps", eps, 0.0)
    if isinstance(td_errors, torch.Tensor):
        td_errors = td_errors.detach().cpu().numpy()
    return np.abs(np.asarray(td_errors, dtype=np.float64)) + eps


class PrioritizedReplay:
    """A ring buffer of transitions with proportional prioritized sampling (see the module docstring).

    A transition is a dict of arrays or scalars, e.g. obs, action, reward, discount, next_obs, done.
    The first ``add`` allocates one numpy array [capacity, ...] per key with that transition's shapes and
    dtypes; once full, each new transition overwrites the oldest. The sum-tree ``tree`` holds p_i^alpha.

    capacity  the most transitions kept;   alpha >= 0  how strongly priorities count (0: uniform)
    seed      an int, None or a numpy Generator, for reproducible sampling
    """

    def __init__(self, capacity: int, alpha: float = 0.6, seed: int | np.random.Generator | None = None):
        self.capacity = check_int("capacity", capacity, 1)
        self.alpha = check_real("alpha", alpha, 0.0)
        self.tree = SumTree(self.capacity)
        self.rng = np.random.default_rng(seed)
        self.storage: dict[str, np.ndarray] | None = None
        self.max_priority = 1.0                               # the largest p seen; what priority=None gives
        self._next = 0                                        # where the next transition is written
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, transition: dict, priority: float | None = None) -> int:
        """Store one transition with priority p (None: the largest p seen so far). Returns its index."""
        batch = {k: np.asarray(v)[None] for k, v in transition.items()}
        return int(self.add_batch(batch, None if priority is None else [priority])[0])

    def add_batch(self, transitions: dict, priorities=None) -> np.ndarray:
        """Store B transitions given as a dict of arrays with leading dim B, priorities [B] or None.
        Returns the indices they were written to (fewer than B if B > capacity: only the last ones fit)."""
        batch = {k: np.asarray(v) for k, v in transitions.items()}
        if not batch or min(v.ndim for v in batch.values()) == 0:
            raise ValueError("transitions must be a non-empty dict of arrays, each with a leading batch dim B")
        if self.storage is None:
            self.storage = {k: np.empty((self.capacity,) + v.shape[1:], v.dtype) for k, v in batch.items()}
        if set(batch) != set(self.storage):
            raise ValueError(f"transition keys {sorted(batch)} differ from the stored keys {sorted(self.storage)}")
        B = len(next(iter(batch.values())))
        for k, v in batch.items():
            if v.shape[1:] != self.storage[k].shape[1:] or len(v) != B:
                raise ValueError(f"transitions[{k!r}] has shape {v.shape}; allowed: [B, *{self.storage[k].shape[1:]}]"
                                 f" with the same B = {B} for every key")
        p = np.full(B, self.max_priority) if priorities is None else check_nonnegative_array("priorities", priorities)
        if p.shape != (B,):
            raise ValueError(f"priorities has shape {p.shape}; allowed: ({B},), one per transition")
        keep = min(B, self.capacity)                          # writing B > capacity: only the last ones stay
        idx = (self._next + B - keep + np.arange(keep)) % self.capacity
        for k, v in batch.items():
            self.storage[k][idx] = v[B - keep:]
        self._set_priorities(idx, p[B - keep:])
        self._next = (self._next + B) % self.capacity
        self._size = min(self._size + B, self.capacity)
        return idx

    def _set_priorities(self, indices, p) -> None:
        if p.size:
            self.max_priority = max(self.max_priority, float(p.max()))
        self.tree.update(indices, p**self.alpha)

    def sample(self, batch_size: int, beta: float):
        """Draw batch_size transitions, with replacement, with probability P(i) = p_i^alpha / sum_k p_k^alpha.

        Stratified: [0, total) is cut into batch_size equal segments and one uniform mass is drawn in each,
        so the batch covers the distribution more evenly than independent draws. Returns (batch, indices,
        weights): batch a dict of arrays [batch_size, ...] (copies), weights float32
        w_j = (N * P(j))^(-beta) / max over THIS batch (not over the buffer: module docstring), N = len(self).
        """
        batch_size = check_int("batch_size", batch_size, 1)
        beta = check_real("beta", beta, 0.0, 1.0)
        total = self.tree.total
        if total <= 0:
            raise ValueError("cannot sample: " + ("the buffer is empty" if self._size == 0 else "every priority is 0"))
        segment = total / batch_size
        masses = (np.arange(batch_size) + self.rng.random(batch_size)) * segment
        indices = self.tree.find(np.minimum(masses, total))   # rounding may push the last mass past total
        P = self.tree[indices] / total
        weights = (self._size * P) ** -beta
        weights /= weights.max()
        batch = {k: v.take(indices, axis=0) for k, v in self.storage.items()}
        return batch, indices, weights.astype(np.float32)

    def update_priorities(self, indices, priorities) -> None:
        """Set the priorities p of stored transitions, e.g. to ``priorities_from_td(new TD errors)``.
        An index whose transition was overwritten since it was sampled just gets the new priority."""
        p = check_nonnegative_array("priorities", priorities)
        idx = np.asarray(indices)
        if idx.shape != p.shape:
            raise ValueError(f"indices has shape {idx.shape} but priorities has shape {p.shape}; they must match")
        if idx.size and idx.dtype.kind in "iu" and idx.max() >= self._size:
            raise ValueError(f"index {idx.max()} is not allowed: only {self._size} transitions are stored")
        self._set_priorities(idx, p)


# ---------------------------------------------------------------------------------------------------------
# n-step transitions from one environment's stream of steps
# ---------------------------------------------------------------------------------------------------------


class NStepBuilder:
    """Turn one environment's steps (s_t, a_t, r_t, s_{t+1}) into n-step transitions.

    Each transition starting at step t carries k rewards, k = n unless the episode ended sooner:

        reward   = r_t + gamma r_{t+1} + ... + gamma^(k-1) r_{t+k-1}      discount = gamma^k      next_obs = s_{t+k}
        done     = 1.0 if the episode TERMINATED at step t+k-1, else 0.0

    and the learner (not this class) computes ``target = reward + (1 - done) * discount * Q_target(next_obs)``.
    When an episode ends, every pending step is flushed with its shorter k (``flush``). Terminated: done = 1,
    nothing to bootstrap. Truncated (a time limit): done = 0 and next_obs is the final observation, so the
    learner bootstraps from its value. Either way the builder is then empty, ready for the next episode.
    Every step gives exactly one transition, the one that starts at it.
    """

    def __init__(self, n: int, gamma: float):
        self.n = check_int("n", n, 1)
        self.gamma = check_real("gamma", gamma, 0.0, 1.0)
        self.pending: deque = deque()                         # (obs, action, reward) of unfinished steps

    def _transition(self, k: int, next_obs, done: bool) -> dict:
        obs, action, _ = self.pending[0]
        reward = sum(self.gamma**i * self.pending[i][2] for i in range(k))     # the first k pending rewards
        return {"obs": obs, "action": action, "reward": reward, "discount": self.gamma**k,
                "next_obs": next_obs, "done": 1.0 if done else 0.0}

    def add(self, obs, action, reward, next_obs, terminated: bool, truncated: bool) -> list[dict]:
        """Record one step; return the transitions it completes (oldest first, possibly none)."""
        self.pending.append((np.array(obs), action, float(reward)))
        if terminated or truncated:
            return self.flush(next_obs, terminated=bool(terminated))
        out = []
        if len(self.pending) == self.n:
            out.append(self._transition(self.n, np.array(next_obs), False))
            self.pending.popleft()
        return out

    def flush(self, next_obs, terminated: bool = False) -> list[dict]:
        """Every pending step as a transition with its shorter k = len(pending) .. 1, next_obs the
        observation the stream stopped at. ``add`` calls it when an episode ends; an actor that stops
        mid-episode calls it too (done = 0: the learner bootstraps from next_obs, as for a time limit)."""
        next_obs = np.array(next_obs)
        out = []
        while self.pending:
            out.append(self._transition(len(self.pending), next_obs, terminated))
            self.pending.popleft()
        return out


def stack(transitions: list[dict]) -> dict:
    """Stack a list of transitions into a dict of arrays [B, ...] for ``PrioritizedReplay.add_batch``:
    float32 for obs, next_obs, reward, discount and done; int64 for action (a discrete action index)."""
    if len(transitions) == 0:
        raise ValueError("transitions is empty; stack needs at least one transition")
    dtypes = {"action": np.int64}
    return {k: np.stack([np.asarray(t[k]) for t in transitions]).astype(dtypes.get(k, np.float32), copy=False)
            for k in transitions[0]}
