"""Exercises of notebook 00 (start here): checkers and reference solutions (``SOLUTIONS``)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlteach.exercises.check import NOT_ATTEMPTED, Verdict, as_array, check_choices, report
from rlteach.messages import N_, tr

# ---------------------------------------------------------------------------------------------------------
# 00 start here, exercise 1: the env loop by hand, two simple rules, two endings
# ---------------------------------------------------------------------------------------------------------

ENV_LOOP = {
    "env_id": "CartPole-v1",
    "seed": 2,              # env.reset(seed=2) before each episode
    "rules": {              # obs = [cart position, cart velocity, pole angle, pole angular velocity]
        "lean": N_("push towards the side the pole leans: action 1 (right) if obs[2] > 0, else 0 (left)"),
        "heading": N_("push towards where the pole is heading: action 1 if obs[2] + obs[3] > 0, else 0"),
    },
}
RULES = {
    "lean": lambda obs: int(obs[2] > 0),
    "heading": lambda obs: int(obs[2] + obs[3] > 0),
    "lean, pushing away": lambda obs: int(obs[2] <= 0),          # a common slip: the sides swapped
}


def _episode(rule, stop_at_truncation=True, max_steps=5000):
    """(steps, "terminated" or "truncated") of one episode of ``ENV_LOOP``'s env with ``RULES[rule]``.
    With ``stop_at_truncation=False`` it keeps stepping past the time limit until the pole falls (the mistake
    of a ``while not terminated`` loop), up to ``max_steps``."""
    env = gym.make(ENV_LOOP["env_id"])
    try:
        obs, _ = env.reset(seed=ENV_LOOP["seed"])
        for steps in range(1, max_steps + 1):
            obs, _, terminated, truncated, _ = env.step(RULES[rule](obs))
            if terminated or (truncated and stop_at_truncation):
                return steps, "terminated" if terminated else "truncated"
        return max_steps, "truncated"
    finally:
        env.close()


def _endings(answer):
    """[(steps, ending), (steps, ending)] from the answer, or the message to report."""
    try:
        (steps_lean, end_lean), (steps_heading, end_heading) = answer
        steps = [int(steps_lean), int(steps_heading)]
    except (TypeError, ValueError):
        return tr("give two pairs [(steps, ending) of the lean rule, (steps, ending) of the heading rule], with "
                  "ending 'terminated' or 'truncated', got {answer!r}.", answer=answer)
    ends = [str(end_lean).strip().lower(), str(end_heading).strip().lower()]
    if not set(ends) <= {"terminated", "truncated"}:
        return tr("each ending is the word 'terminated' or 'truncated', got {ends}.", ends=ends)
    return list(zip(steps, ends, strict=True))


def check_env_loop(answer) -> Verdict:
    """Exercise: [(steps, ending) with the "lean" rule, (steps, ending) with the "heading" rule] of
    ``ENV_LOOP``: how many ``env.step`` calls each episode lasted, and whether it ended terminated or truncated."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    got = _endings(answer)
    if isinstance(got, str):
        return report(False, got)
    right = [_episode("lean"), _episode("heading")]
    if got == right:
        return report(True, tr("the lean rule drops the pole ({lean_end}); the heading rule keeps it up until the "
                               "time limit cuts the episode at {steps} steps ({heading_end}: the pole was still up, "
                               "so a learner would bootstrap there).",
                               lean_end=right[0][1], steps=right[1][0], heading_end=right[1][1]))
    for (steps, end), (right_steps, right_end), name in zip(got, right, ("lean", "heading"), strict=True):
        if steps == right_steps - 1:
            return report(False, tr("{rule}: one step short. The step that returned terminated or truncated = True "
                                    "is a step too: count every env.step call.", rule=name))
        if steps == right_steps + 1:
            return report(False, tr("{rule}: one step too many: stop right after the step that ended the episode.",
                                    rule=name))
        if right_end == "truncated" and steps > right_steps:
            return report(False, tr("{rule}: you kept stepping after truncated=True (a `while not terminated` "
                                    "loop?). An episode ends at terminated OR truncated.", rule=name))
        if name == "lean" and steps == _episode("lean, pushing away")[0]:
            return report(False, tr("lean: that is the rule with the sides swapped: action 1 pushes the cart RIGHT, "
                                    "towards a pole leaning right (obs[2] > 0)."))
        if steps == right_steps and end != right_end:
            if right_end == "truncated":
                return report(False, tr("{rule}: the number is right, the ending is not. The time limit cut it: "
                                        "truncated, the pole was still up.", rule=name))
            return report(False, tr("{rule}: the number is right, the ending is not. The pole fell (or the cart "
                                    "left the track): terminated.", rule=name))
        if steps != right_steps:
            return report(False, tr("{rule}: not {steps} steps. Reset with seed={seed} before the episode, act "
                                    "with the rule on the observation the last step returned, and count the steps.",
                                    rule=name, steps=steps, seed=ENV_LOOP["seed"]))
    return report(False, tr("compare each pair with what your loop printed."))


# ---------------------------------------------------------------------------------------------------------
# 00 start here, exercise 2: counting env steps and forward passes
# ---------------------------------------------------------------------------------------------------------

STEP_COUNTING = {
    "num_envs": 6,          # environment-parallelism: one policy, a vector of 6 envs ...
    "vector_steps": 20,     # ... stepped 20 times (each time: one batched forward pass, then envs.step)
    "num_actors": 3,        # agent-parallelism: 3 actor processes, each with its own policy copy and one env ...
    "steps_per_actor": 400,  # ... each stepping its env 400 times
}


def _counts(e=None):
    """(env steps of the vector env, its forward passes, env steps of all actors, their forward passes)."""
    e = STEP_COUNTING if e is None else e
    return (e["num_envs"] * e["vector_steps"], e["vector_steps"],
            e["num_actors"] * e["steps_per_actor"], e["num_actors"] * e["steps_per_actor"])


def check_step_counting(answer) -> Verdict:
    """Exercise: for ``STEP_COUNTING``, (env steps the vector env produced, policy forward passes it took, env
    steps the actors produced together, forward passes they took together)."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (4,))
    if arr is None:
        return report(False, tr("give four numbers (vector env: env steps, forward passes; actors: env steps, "
                                "forward passes), got {answer!r}.", answer=answer))
    e, right = STEP_COUNTING, np.array(_counts(), dtype=float)
    if np.array_equal(arr, right):
        return report(True, tr("{vector_steps:.0f} env steps from {vector_forwards:.0f} forward passes (one per "
                               "vector step, batched over {num_envs} envs) against {actor_forwards:.0f} forwards for "
                               "{actor_steps:.0f} steps (one per step, each actor on its own): batching saves "
                               "forwards, processes add cores.", vector_steps=right[0], vector_forwards=right[1],
                               num_envs=e["num_envs"], actor_forwards=right[3], actor_steps=right[2]))
    if arr[0] == e["vector_steps"]:
        return report(False, tr("vector env: a vector step steps every env once, so it counts as num_envs env "
                                "steps (rlteach.throughput counts them that way too)."))
    if arr[1] == right[0]:
        return report(False, tr("vector env: the policy sees all num_envs observations as one batch "
                                "[num_envs, 4]: ONE forward pass per vector step, not one per env."))
    if arr[2] == e["steps_per_actor"] or arr[3] == e["steps_per_actor"]:
        return report(False, tr("actors: that is one actor's count; the actors run side by side, add them up."))
    if arr[3] == e["num_actors"] or arr[3] == e["steps_per_actor"] / e["num_actors"]:
        return report(False, tr("actors: each actor has its own policy copy and one env, so it runs one forward "
                                "per env step: nothing is batched across processes."))
    return report(False, tr("the vector env makes num_envs env steps per vector step with one forward each time; "
                            "each actor makes one env step and one forward at a time."))


# ---------------------------------------------------------------------------------------------------------
# 00 start here, exercise 3: which parallelism helps which workload
# ---------------------------------------------------------------------------------------------------------

PARALLEL_CHOICES = {
    "a": N_("A SyncVectorEnv with N envs calls the policy once per N env steps, where the single-env loop calls it "
            "once per env step."),
    "b": N_("A SyncVectorEnv with N envs steps them on N CPU cores at the same time."),
    "c": N_("For CartPole-v1, whose step takes microseconds, an AsyncVectorEnv steps more env steps per second than "
            "a SyncVectorEnv with the same N."),
    "d": N_("For an env whose step waits 1 ms (for a simulator or a robot), N envs in N subprocesses "
            "(AsyncVectorEnv) can wait at the same time."),
    "e": N_("Agent-parallelism with N actor processes speeds up an env that computes (uses the CPU) at most about "
            "as many times as the machine has cores, however large N is."),
    "f": N_("In one Python process, N threads that each step a CartPole written in Python step about N times as "
            "fast as one thread."),
}
_PARALLEL_TRUE = {"a", "d", "e"}


def check_parallel_statements(answer) -> Verdict:
    """Exercise: the letters of the TRUE statements in ``PARALLEL_CHOICES``."""
    hints = {
        "b": tr("b: a SyncVectorEnv steps its envs one after another, in this one process: one core. It gains by "
                "batching the policy's forward pass, not by using more cores."),
        "c": tr("c: every async step sends N actions to the subprocesses and N observations back; that round trip "
                "costs far more than a CartPole step. Async pays when a step is expensive."),
        "f": tr("f: in one process only one thread runs Python at a time (notebook 03 shows why: the GIL), so "
                "threads that compute in Python take turns. Threads help envs that wait; processes help envs that "
                "compute."),
    }
    return check_choices(answer, PARALLEL_CHOICES, _PARALLEL_TRUE,
                         tr("batching for cheap envs, subprocesses for envs that wait, processes up to the cores for "
                            "envs that compute: section 3 measured each on this machine."), hints,
                         missing=N_("one more is true: look again at {letter} (section 3)."))


SOLUTIONS = {            # the reference answers of notebook 00's exercises; look only after trying
    "env_loop": lambda: [_episode("lean"), _episode("heading")],
    "step_counting": lambda: list(_counts()),
    "parallel_statements": lambda: sorted(_PARALLEL_TRUE),
}
