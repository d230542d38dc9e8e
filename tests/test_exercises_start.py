"""Notebook 00's checkers (rlteach.exercises.start) on their reference solutions, on the placeholder, and on
typical wrong answers."""

import gymnasium as gym

from rlteach import exercises
from rlteach.exercises import start as ex


def test_placeholder_is_reported_without_error(capsys):
    for check in (ex.check_env_loop, ex.check_step_counting, ex.check_parallel_statements):
        assert check(...).ok is False
        assert "Not attempted yet" in capsys.readouterr().out


def test_the_package_gathers_notebook_00(capsys):
    assert exercises.check_env_loop is ex.check_env_loop and "env_loop" in exercises.SOLUTIONS
    assert {"env_loop", "step_counting", "parallel_statements"} <= set(exercises.SOLUTIONS)


def play(rule, seed):
    """The loop a student writes, literally: reset with the seed, act by the rule, stop at either ending."""
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=seed)
    steps = 0
    while True:
        action = 1 if (obs[2] > 0 if rule == "lean" else obs[2] + obs[3] > 0) else 0
        obs, reward, terminated, truncated, _ = env.step(action)
        steps += 1
        if terminated or truncated:
            return steps, "terminated" if terminated else "truncated"


def test_env_loop_solution_is_the_plain_loop_and_shows_both_endings(capsys):
    solution = ex.SOLUTIONS["env_loop"]()
    assert solution == [play("lean", ex.ENV_LOOP["seed"]), play("heading", ex.ENV_LOOP["seed"])]
    (lean_steps, lean_end), (heading_steps, heading_end) = solution
    assert (lean_end, heading_end) == ("terminated", "truncated")            # the exercise shows both endings
    assert heading_steps == gym.spec("CartPole-v1").max_episode_steps
    for right in (solution, [[lean_steps, "Terminated"], (heading_steps, " truncated")]):
        assert ex.check_env_loop(right).ok is True
        assert "Correct" in capsys.readouterr().out


def test_env_loop_names_the_common_mistakes(capsys):
    (lean, _), (heading, _) = ex.SOLUTIONS["env_loop"]()
    swapped = ex._episode("lean, pushing away")[0]
    assert swapped not in (lean - 1, lean, lean + 1)
    for wrong, hint in [
        ([(lean - 1, "terminated"), (heading, "truncated")], "one step short"),
        ([(lean, "terminated"), (heading + 1, "truncated")], "one step too many"),
        ([(lean, "terminated"), (heading + 700, "truncated")], "kept stepping after truncated"),
        ([(lean, "terminated"), (heading, "terminated")], "time limit cut it"),
        ([(lean, "truncated"), (heading, "truncated")], "The pole fell"),
        ([(swapped, "terminated"), (heading, "truncated")], "sides swapped"),
        ([(lean + 7, "terminated"), (heading, "truncated")], "seed=2"),
        ([(lean, "fell"), (heading, "truncated")], "'terminated' or 'truncated'"),
        ([lean, heading], "two pairs"),
    ]:
        assert ex.check_env_loop(wrong).ok is False
        assert hint in capsys.readouterr().out, hint


def test_step_counting(capsys):
    e = ex.STEP_COUNTING
    assert ex.SOLUTIONS["step_counting"]() == [6 * 20, 20, 3 * 400, 3 * 400]
    assert (e["num_envs"], e["vector_steps"], e["num_actors"], e["steps_per_actor"]) == (6, 20, 3, 400)
    assert ex.check_step_counting((120, 20, 1200, 1200)).ok is True
    assert "Correct" in capsys.readouterr().out
    for wrong, hint in [((20, 20, 1200, 1200), "counts as num_envs env steps"),
                        ((120, 120, 1200, 1200), "ONE forward pass per vector step"),
                        ((120, 20, 400, 400), "one actor's count"),
                        ((120, 20, 1200, 3), "nothing is batched across processes"),
                        ((1, 2, 3, 4), "num_envs env steps per vector step"),
                        ((1, 2), "four numbers")]:
        assert ex.check_step_counting(wrong).ok is False
        assert hint in capsys.readouterr().out, hint


def test_parallel_statements(capsys):
    for right in (ex.SOLUTIONS["parallel_statements"](), "ade", {"e", "d", "a"}):
        assert ex.check_parallel_statements(right).ok is True
        assert "Correct" in capsys.readouterr().out
    for wrong, hint in [("abde", "one after another"), ("acde", "round trip"), ("adef", "one thread runs Python"),
                        ("ad", "look again at e"), ("z", "not among")]:
        assert ex.check_parallel_statements(wrong).ok is False
        assert hint in capsys.readouterr().out, hint
