"""What rlteach's algorithms really send, as payloads for the transport benchmark (``rlteach.lab.transports``).

A payload is a dict of numpy arrays: the state_dict of one of rlteach's networks (weights), or an IMPALA unroll
or an Ape-X message (trajectories). ``payload_bytes`` counts its data; ``checksum`` fingerprints it, so that a
receiver can prove it got exactly what was sent.

Imported by every process the transport benchmark spawns, so its top level imports only the standard library
and numpy; torch, gymnasium and rlteach's networks are imported where they are used.
"""

from __future__ import annotations

import zlib

import numpy as np


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

    from rlteach.messages import N_  # the names are keys: the tables translate them when they show them
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
    weights, trajectory = N_("weights"), N_("trajectory")       # the kinds are keys too: shown as tr(kind)
    return {N_("A3C/IMPALA weights"): (weights, _state_dict_arrays(ActorCritic(4, 2, (64, 64)))),
            N_("Ape-X weights"): (weights, _state_dict_arrays(QNetwork(4, 2, (256, 256)))),
            N_("4 MB weights"): (weights, _state_dict_arrays(QNetwork(4, 2, (1024, 1024)))),
            N_("Ape-X message (50 transitions)"): (trajectory, message),
            N_("IMPALA unroll (20 x 4 envs)"): (trajectory, unroll)}


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
