"""A CartPole that counts, per process, the steps taken and the episodes ended in every instance of it.

Use it as ``env_id="counting_env:RlteachCountingCartPole-v0"`` on the thread backend (the counts live in this
process) to check that every step and episode the workers saw reaches the result. ``reset_counts()`` first."""

import threading

import gymnasium as gym
from gymnasium.envs.classic_control import CartPoleEnv

COUNTS = {"steps": 0, "episodes": 0}
_lock = threading.Lock()


def reset_counts():
    with _lock:
        COUNTS.update(steps=0, episodes=0)


class CountingCartPole(CartPoleEnv):
    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        with _lock:
            COUNTS["steps"] += 1
        return obs, reward, terminated, truncated, info


class EpisodeCounter(gym.Wrapper):
    """Outside the TimeLimit, so that an episode cut by the time limit counts too."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            with _lock:
                COUNTS["episodes"] += 1
        return obs, reward, terminated, truncated, info


def make(**kwargs):
    return EpisodeCounter(gym.wrappers.TimeLimit(CountingCartPole(**kwargs), max_episode_steps=500))


if "RlteachCountingCartPole-v0" not in gym.registry:
    gym.register("RlteachCountingCartPole-v0", entry_point=make, reward_threshold=475.0)
