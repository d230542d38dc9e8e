"""A3C, Ape-X and IMPALA each solve CartPole-v1 on threads and on processes, with default settings.

CI runs seed 0; ``make test-full`` seeds 0, 1, 2 (the ``learning_seed`` fixture). Threaded and asynchronous
runs are not reproducible even with seeds, so each budget (in env steps) is at least twice the slowest of 10
runs in a row per backend on a 2-core machine; those figures are beside each budget.
"""

import pytest

from rlteach import a3c, apex, impala

BUDGETS = {
    a3c: 130_000,     # slowest of 10 runs (acting with NumpyPolicy): 60,015 env steps (thread), 22,041 (process)
    apex: 100_000,    # slowest of 10 runs: 30,026 (thread), 26,024 (process)
    impala: 120_000,  # slowest of 10 runs: 34,000 (thread), 38,000 (process); 48,000 before per-actor generators
}
CASES = [(module, backend) for module in BUDGETS for backend in ("thread", "process")]


@pytest.mark.learning
@pytest.mark.timeout(900)
@pytest.mark.parametrize("module, backend", CASES, ids=[f"{m.__name__.split('.')[-1]}-{b}" for m, b in CASES])
def test_solves_cartpole(module, backend, learning_seed):
    config = module.Config(backend=backend, seed=learning_seed, total_steps=BUDGETS[module])
    result = module.train(config, progress=False)
    assert result.solved, result.summary()
    assert result.evals[-1][2] >= 475.0
    print(result.summary())
