"""A CartPole that raises after ``fail_after`` steps, registered on import, for worker-failure tests.

Use it as ``env_id="failing_env:RlteachFailingCartPole-v0"``: the "module:" prefix makes every process,
including spawned workers, import this module (and so register the env) before making it."""

import gymnasium as gym
from gymnasium.envs.classic_control import CartPoleEnv


class FailingCartPole(CartPoleEnv):
    def __init__(self, fail_after=50, **kwargs):
        super().__init__(**kwargs)
        self.fail_after, self.steps = fail_after, 0

    def step(self, action):
        self.steps += 1
        if self.steps > self.fail_after:
            raise RuntimeError(f"FailingCartPole broke on purpose after {self.fail_after} steps")
        return super().step(action)


if "RlteachFailingCartPole-v0" not in gym.registry:
    gym.register("RlteachFailingCartPole-v0", entry_point=FailingCartPole, max_episode_steps=500,
                 reward_threshold=475.0)
