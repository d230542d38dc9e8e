"""Countdown: an env that ends after k steps, as a plain env and as a NumPy-vectorized one, registered as
"countdown_env:Countdown-v0" so that A2C can make it in each of its vectorization modes (subprocesses too).

Observation [steps left]; reward 1 per step; terminates (or, with truncate=True, is only truncated, as a time
limit would) after k steps. The vector version resets an env on the step after its episode ended, as
gymnasium's vector envs do (AutoresetMode.NEXT_STEP): that step returns reward 0, not ended, the first
observation of the next episode."""

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space

OBSERVATION = gym.spaces.Box(-1.0, 100.0, (1,), np.float32)


class Countdown(gym.Env):
    observation_space = OBSERVATION
    action_space = gym.spaces.Discrete(2)

    def __init__(self, k=3, truncate=False):
        self.k, self.truncate = k, truncate

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.left = self.k
        return np.array([self.left], np.float32), {}

    def step(self, action):
        self.left -= 1
        done = self.left == 0
        return np.array([self.left], np.float32), 1.0, done and not self.truncate, done and self.truncate, {}


class CountdownVector(gym.vector.VectorEnv):
    metadata = {"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs=1, k=3, truncate=False, max_episode_steps=None):
        self.num_envs, self.k, self.truncate = num_envs, k, truncate
        self.single_observation_space, self.single_action_space = OBSERVATION, gym.spaces.Discrete(2)
        self.observation_space = batch_space(OBSERVATION, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.left = np.full(self.num_envs, self.k)
        self.prev_done = np.zeros(self.num_envs, bool)
        return self.left[:, None].astype(np.float32), {}

    def step(self, actions):
        self.left = np.where(self.prev_done, self.k, self.left - 1)
        done = (self.left == 0) & ~self.prev_done
        reward = np.where(self.prev_done, 0.0, 1.0)
        self.prev_done = done
        terminated, truncated = (done & False, done) if self.truncate else (done, done & False)
        return self.left[:, None].astype(np.float32), reward, terminated, truncated, {}


if "Countdown-v0" not in gym.registry:
    gym.register("Countdown-v0", entry_point=f"{__name__}:Countdown",
                 vector_entry_point=f"{__name__}:CountdownVector")
