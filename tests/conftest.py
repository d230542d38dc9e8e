"""Shared test settings: a headless matplotlib, and the seeds learning tests run with.

``pytest`` (CI) runs each learning test with seed 0; ``pytest --full`` (``make test-full``) with every seed.
A learning test asks for the ``learning_seed`` fixture to be parametrised this way.
"""

import os
import signal

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

LEARNING_SEEDS_CI = [0]
LEARNING_SEEDS_FULL = [0, 1, 2]


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", help="run every seed of every learning test")


def pytest_generate_tests(metafunc):
    if "learning_seed" in metafunc.fixturenames:
        full = metafunc.config.getoption("--full")
        metafunc.parametrize("learning_seed", LEARNING_SEEDS_FULL if full else LEARNING_SEEDS_CI)


@pytest.fixture
def sigint_raises_keyboard_interrupt():
    """Make SIGINT raise KeyboardInterrupt, as it does in a terminal or a notebook.

    A process started in the background by a non-interactive shell (``pytest tests/ &`` in a script) inherits
    SIGINT *ignored*, and Python keeps it so: a test's Ctrl-C would be dropped and the run would go on for
    hours. That is how a Ctrl-C test once hung in CI."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
