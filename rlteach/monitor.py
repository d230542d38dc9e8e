"""What a training run records, how "solved" is decided, and how a result is saved and loaded.

Every algorithm in rlteach has the same run API:

    result = module.train(module.Config(env_id="CartPole-v1", seed=0), progress=True, callback=None)

and returns a ``TrainResult``. ``Run`` is the bookkeeping all ``train`` functions share: the clock, the env
step counter, finished episodes, the progress bar, the evaluation schedule and the solved check, so that
"solved in 30 s" means the same thing for A2C, PPO, A3C, Ape-X and IMPALA.

The solved criterion (one for every algorithm)
----------------------------------------------
Every ``eval_every`` env steps, play ``eval_episodes`` greedy episodes (argmax action) on separate
environments seeded 10_000 + i. The run is solved when their mean return reaches the environment's
``spec.reward_threshold`` (475 for CartPole-v1). Evaluation measures; it is not the workload: on a
SlowCartPole it plays the same env with no delay (``envs.evaluation_kwargs``), and ``eval_seconds`` says how
much of the run it took. The clock starts when ``train()`` is called and counts
everything: building envs, spawning processes, starting Ray, evaluating.

Saving: ``result.save(dir)`` writes ``config.json`` (with the algorithm's name), ``history.json`` (every
list and number of the result) and ``model.pt`` (a ``state_dict``); ``load(dir)`` rebuilds the config
and the model (``torch.load(..., weights_only=True)``: no pickled code is run); a damaged or tampered
checkpoint raises ``CheckpointError``.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import threading
import time
from collections import namedtuple
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlteach.checks import check_env, check_number
from rlteach.envs import evaluation_kwargs, make_env, reward_threshold
from rlteach.messages import tr
from rlteach.progress import tqdm
from rlteach.timeline import as_rows

EVAL_SEED_BASE = 10_000

# ---------------------------------------------------------------------------------------------------------
# Evaluation: greedy episodes on their own envs, all stepped together with one batched forward
# ---------------------------------------------------------------------------------------------------------


def evaluate(act, env_id, episodes=10, seed_base=EVAL_SEED_BASE, env_kwargs=None) -> float:
    """Mean return of ``episodes`` episodes of ``act`` (a function: observations [B, obs_dim] -> actions [B]),
    on envs made with ``env_kwargs`` and seeded ``seed_base + i``. The episodes run side by side: one ``act``
    call per step for all."""
    envs = [make_env(env_id, env_kwargs) for _ in range(episodes)]
    obs = [env.reset(seed=seed_base + i)[0] for i, env in enumerate(envs)]
    returns = np.zeros(episodes)
    running = list(range(episodes))
    try:
        while running:
            actions = act(np.stack([obs[i] for i in running]))
            still = []
            for i, a in zip(running, actions, strict=True):
                obs[i], r, term, trunc, _ = envs[i].step(int(a))
                returns[i] += r
                if not (term or trunc):
                    still.append(i)
            running = still
    finally:
        for env in envs:
            env.close()
    return float(returns.mean())


RecordedEpisode = namedtuple("RecordedEpisode", ["frames", "episode_return", "steps", "ending", "final_obs"],
                             defaults=("", None))


def record_episode(act, env_id="CartPole-v1", seed=EVAL_SEED_BASE, max_steps=None, every=1, env_kwargs=None):
    """Play one episode of ``act`` (observations [1, obs_dim] -> actions [1], as for ``evaluate``) on an env
    seeded ``seed``, rendering it. Returns RecordedEpisode(frames, episode_return, steps, ending, final_obs):
    frames are RGB arrays [H, W, 3] of the first observation and of every ``every``-th step after it (the last
    step always), and ``steps[i]`` is the number of steps taken when ``frames[i]`` was drawn; ``ending`` is
    "terminated", "truncated" or "max_steps" (stopped here, not by the env), ``final_obs`` the last
    observation. ``max_steps`` ends the episode early (default: the env's own time limit). Headless machines
    render with SDL's dummy driver.
    ``env_kwargs`` go to gym.make (for a SlowCartPole, ``evaluation_kwargs`` drops the delay).
    """
    check_number("every", every, 1, integer=True)
    if max_steps is not None:
        check_number("max_steps", max_steps, 1, integer=True)
    check_env(env_id, env_kwargs=env_kwargs)
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")      # no screen: pygame draws off-screen
    env = make_env(env_id, env_kwargs, render_mode="rgb_array")
    try:
        obs, _ = env.reset(seed=seed)
        frames, steps, total, t, done = [env.render()], [0], 0.0, 0, False
        term = trunc = False
        while not done and (max_steps is None or t < max_steps):
            obs, r, term, trunc, _ = env.step(int(np.asarray(act(obs[None]))[0]))
            total, t, done = total + float(r), t + 1, term or trunc
            if t % every == 0 or done or t == max_steps:
                frames.append(env.render())
                steps.append(t)
    finally:
        env.close()
    ending = "terminated" if term else "truncated" if trunc else "max_steps"
    return RecordedEpisode(frames, total, steps, ending, obs)


# ---------------------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------------------


# CLI name -> the module that holds its Config, train and build_model
ALGORITHMS = {"a2c": "rlteach.policy_gradient", "a3c": "rlteach.a3c", "apex": "rlteach.apex",
              "impala": "rlteach.impala", "ppo": "rlteach.ppo", "ddppo": "rlteach.ddppo",
              "seedrl": "rlteach.seed_rl"}


def algorithm_name(config) -> str:
    module = type(config).__module__
    return next((name for name, mod in ALGORITHMS.items() if mod == module), module)


def _to_json(x):
    if isinstance(x, np.generic | np.ndarray):
        return x.tolist()
    raise TypeError(f"cannot save {type(x).__name__} in history.json")


@dataclass
class TrainResult:
    """What a run produced. Lists are in the order things happened; times are seconds since ``train()``."""

    config: Any
    episode_returns: list = field(default_factory=list)   # return of each finished training episode
    episode_steps: list = field(default_factory=list)     # total env steps when that episode ended
    episode_seconds: list = field(default_factory=list)   # seconds since train() when it ended
    evals: list = field(default_factory=list)             # (env_steps, seconds, mean greedy return)
    eval_seconds: float = 0.0                             # of ``seconds``, the time spent evaluating
    solved_at_steps: int | None = None
    solved_at_seconds: float | None = None
    env_steps: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    model: torch.nn.Module | None = None
    records: dict = field(default_factory=dict)           # the algorithm's own: losses, timelines, ...

    @property
    def solved(self) -> bool:
        return self.solved_at_steps is not None

    def summary(self) -> str:
        """One line: solved at X steps / Y s, or not."""
        run = {"algo": algorithm_name(self.config), "env_id": self.config.env_id, "seed": self.config.seed}
        best = max((e[2] for e in self.evals), default=float("nan"))
        if self.solved and self.interrupted:
            return tr("{algo} on {env_id} (seed {seed}): solved at {steps:,} steps / {seconds:.1f} s [interrupted]",
                      steps=self.solved_at_steps, seconds=self.solved_at_seconds, **run)
        if self.solved:
            return tr("{algo} on {env_id} (seed {seed}): solved at {steps:,} steps / {seconds:.1f} s",
                      steps=self.solved_at_steps, seconds=self.solved_at_seconds, **run)
        if self.interrupted:
            return tr("{algo} on {env_id} (seed {seed}): not solved in {steps:,} steps / {seconds:.1f} s (best "
                      "evaluation mean {best:.1f}) [interrupted]", steps=self.env_steps, seconds=self.seconds,
                      best=best, **run)
        return tr("{algo} on {env_id} (seed {seed}): not solved in {steps:,} steps / {seconds:.1f} s (best "
                  "evaluation mean {best:.1f})", steps=self.env_steps, seconds=self.seconds, best=best, **run)

    def save(self, directory) -> Path:
        """Write config.json, history.json and model.pt into ``directory`` (created if missing)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = {"algorithm": algorithm_name(self.config), "config": dataclasses.asdict(self.config)}
        (directory / "config.json").write_text(json.dumps(config, indent=2))
        history = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("config", "model")}
        (directory / "history.json").write_text(json.dumps(history, indent=1, default=_to_json))
        if self.model is not None:
            torch.save(self.model.state_dict(), directory / "model.pt")
        return directory


class CheckpointError(ValueError):
    """A saved run that ``load`` refuses: damaged, tampered with, or not written by ``TrainResult.save``."""


def _read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is missing or is not the JSON that TrainResult.save writes: {e}") from None


def load(directory) -> TrainResult:
    """Read a result written by ``TrainResult.save``: config, history and (if saved) the model.

    Nothing in the files is executed: the algorithm must be one of ``ALGORITHMS`` (a name, never a module
    path to import), the config and history are JSON, and the model is read with
    ``torch.load(..., weights_only=True)``, which only rebuilds tensors. Anything else (a pickled object, a
    truncated file, an unknown algorithm or field) raises ``CheckpointError`` naming the file and the fault.
    """
    directory = Path(directory)
    saved = _read_json(directory / "config.json")
    name = saved.get("algorithm") if isinstance(saved, dict) else None
    if name not in ALGORITHMS or not isinstance(saved.get("config"), dict):
        raise CheckpointError(f"{directory / 'config.json'} names algorithm {name!r}: a saved run names one of "
                              f"{sorted(ALGORITHMS)} and holds its config")
    module = importlib.import_module(ALGORITHMS[name])
    history = _read_json(directory / "history.json")
    try:
        config = module.Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved["config"].items()})
        history["evals"] = [tuple(e) for e in history["evals"]]
        if "timeline" in history["records"]:            # JSON made its named rows lists: name them again
            history["records"]["timeline"] = as_rows(history["records"]["timeline"])
        result = TrainResult(config=config, **history)
    except (TypeError, ValueError, KeyError) as e:
        raise CheckpointError(f"{directory} is not a run that TrainResult.save wrote for {name}: {e}") from None
    if (directory / "model.pt").exists():
        result.model = module.build_model(config)
        try:
            state = torch.load(directory / "model.pt", weights_only=True, map_location="cpu")
            result.model.load_state_dict(state)
        except Exception as e:  # noqa: BLE001 - whatever torch raises on a bad file, the reader gets one error
            raise CheckpointError(f"{directory / 'model.pt'} was refused: it is truncated, or holds something "
                                  f"other than the {name} model's tensors (loaded with weights_only=True, so "
                                  f"nothing in it was run): {type(e).__name__}: {str(e).splitlines()[0]}") from None
    return result


# ---------------------------------------------------------------------------------------------------------
# Run: the bookkeeping every train() shares (safe to call from several worker threads)
# ---------------------------------------------------------------------------------------------------------


class Run:
    """Clock, counters, progress bar, evaluation schedule and solved check for one ``train()`` call.

    Typical use inside ``train``:

        run = Run(config, progress, callback)        # the clock starts here
        while not run.done:
            ...; run.add_steps(n); run.add_episode(ret)
            run.maybe_evaluate(act)                    # every eval_every steps; may set run.done
        return run.finish(model)
    """

    def __init__(self, config, progress=True, callback=None):
        self.t0 = time.perf_counter()
        self.config, self.callback = config, callback
        self.result = TrainResult(config=config)
        self.threshold = reward_threshold(config.env_id)
        self.eval_kwargs = evaluation_kwargs(config.env_id, config.env_kwargs)    # a slow env without its delay
        self.next_eval = math.inf if config.eval_every is None else config.eval_every   # None: never
        self.lock = threading.Lock()
        self.bar = tqdm(total=config.total_steps, disable=not progress, unit=tr("step"), dynamic_ncols=True,
                        desc=f"{algorithm_name(config)} {config.env_id}")

    def seconds(self) -> float:
        return time.perf_counter() - self.t0

    @property
    def done(self) -> bool:
        r = self.result
        return r.env_steps >= self.config.total_steps or (r.solved and self.config.stop_when_solved)

    def add_steps(self, n: int):
        with self.lock:
            self.result.env_steps += int(n)
        self.bar.update(int(n))

    def add_episode(self, episode_return: float):
        with self.lock:
            r = self.result
            r.episode_returns.append(float(episode_return))
            r.episode_steps.append(r.env_steps)
            r.episode_seconds.append(self.seconds())
            recent = float(np.mean(r.episode_returns[-20:]))
        self.bar.set_postfix_str(tr("recent return {recent:.1f}", recent=recent), refresh=False)

    def eval_due(self) -> bool:
        return self.result.env_steps >= self.next_eval

    def maybe_evaluate(self, act) -> bool:
        """Evaluate greedily if ``eval_every`` steps have passed since the last time; True if it did."""
        with self.lock:
            if not self.eval_due():
                return False
            while self.next_eval <= self.result.env_steps:
                self.next_eval += self.config.eval_every
            steps = self.result.env_steps
        start = time.perf_counter()
        mean = evaluate(act, self.config.env_id, self.config.eval_episodes, env_kwargs=self.eval_kwargs)
        r = self.result
        with self.lock:
            r.eval_seconds += time.perf_counter() - start
            r.evals.append((steps, self.seconds(), mean))
            if mean >= self.threshold and not r.solved:
                r.solved_at_steps, r.solved_at_seconds = steps, r.evals[-1][1]
        if self.callback is not None:
            self.callback(self.snapshot())
        return True

    def snapshot(self) -> TrainResult:
        """The result so far (what a callback receives)."""
        r = dataclasses.replace(self.result)
        r.seconds = self.seconds()
        return r

    def finish(self, model=None, interrupted=False) -> TrainResult:
        self.bar.close()
        r = self.result
        r.seconds, r.model, r.interrupted = self.seconds(), model, interrupted
        return r
