"""rlteach.advantage against brute-force direct sums written here, independently, one env column at a time."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlteach.advantage import discounted_returns, gae, n_step_returns, td_errors

# ---------------------------------------------------------------------------------------------------------
# Brute force: literal sums over future steps, plain Python floats, one column at a time.
# ---------------------------------------------------------------------------------------------------------


def brute_td(r, v, nv, term, gamma):
    return [r[t] + (0.0 if term[t] else gamma * nv[t]) - v[t] for t in range(len(r))]


def brute_n_step(r, nv, term, trunc, gamma, n):
    """Walk forward from t, adding gamma^k r_{t+k}; stop at a terminal (no bootstrap), or bootstrap
    from nv at a truncation, at the rollout's end, or after n rewards."""
    T, out = len(r), []
    for t in range(T):
        total, k = 0.0, 0
        while True:
            j = t + k
            total += gamma**k * r[j]
            if term[j]:
                break
            if trunc[j] or j == T - 1 or k + 1 == n:
                total += gamma ** (k + 1) * nv[j]
                break
            k += 1
        out.append(total)
    return out


def brute_returns(r, nv, term, trunc, gamma):
    return brute_n_step(r, nv, term, trunc, gamma, n=10**9)


def brute_gae(r, v, nv, term, trunc, gamma, lam):
    """A_t = sum_k (gamma lam)^k delta_{t+k}, summed up to and including the first step that ends the
    episode (terminated or truncated) or the rollout."""
    T = len(r)
    delta = brute_td(r, v, nv, term, gamma)
    out = []
    for t in range(T):
        total = 0.0
        for j in range(t, T):
            total += (gamma * lam) ** (j - t) * delta[j]
            if term[j] or trunc[j]:
                break
        out.append(total)
    return out


def columns(fn, *arrays, **kw):
    """Apply a one-column brute force to each column of [T] or [T, N] arrays."""
    arrays = [np.asarray(a) for a in arrays]
    if arrays[0].ndim == 1:
        return np.array(fn(*[a.tolist() for a in arrays], **kw))
    cols = [fn(*[a[:, i].tolist() for a in arrays], **kw) for i in range(arrays[0].shape[1])]
    return np.array(cols).T


def random_rollout(rng, T, N=None, p_term=0.15, p_trunc=0.15):
    shape = (T,) if N is None else (T, N)
    r = rng.normal(size=shape)
    v = rng.normal(size=shape)
    nv = rng.normal(size=shape)
    term = rng.random(shape) < p_term
    trunc = rng.random(shape) < p_trunc  # some steps have both flags: terminated must win
    return r, v, nv, term, trunc


def consistent(v, nv, term, trunc):
    """next_values as a real critic gives them: V(s_{t+1}) = values[t+1] inside an episode; only at an
    episode's end (the final observation) or the rollout's end is it a value of its own."""
    nv = nv.copy()
    inside = ~(term | trunc)[:-1]
    nv[:-1][inside] = v[1:][inside]
    return nv


# ---------------------------------------------------------------------------------------------------------
# Each function against its brute force, on random rollouts with both flags
# ---------------------------------------------------------------------------------------------------------

SHAPES = [(1, None), (2, None), (7, None), (30, None), (1, 3), (12, 4), (40, 5)]


@pytest.mark.parametrize("T,N", SHAPES)
@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.99, 1.0])
def test_against_brute_force(T, N, gamma):
    rng = np.random.default_rng(T * 100 + (N or 0))
    r, v, nv, term, trunc = random_rollout(rng, T, N)
    np.testing.assert_allclose(td_errors(r, v, nv, term, gamma), columns(brute_td, r, v, nv, term, gamma=gamma))
    np.testing.assert_allclose(discounted_returns(r, nv, term, trunc, gamma),
                               columns(brute_returns, r, nv, term, trunc, gamma=gamma))
    for n in [1, 2, 3, 5, 100]:
        np.testing.assert_allclose(n_step_returns(r, nv, term, trunc, gamma, n),
                                   columns(brute_n_step, r, nv, term, trunc, gamma=gamma, n=n), atol=1e-12)
    for lam in [0.0, 0.3, 0.95, 1.0]:
        np.testing.assert_allclose(gae(r, v, nv, term, trunc, gamma, lam),
                                   columns(brute_gae, r, v, nv, term, trunc, gamma=gamma, lam=lam), atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(
    T=st.integers(1, 25),
    N=st.one_of(st.none(), st.integers(1, 4)),
    gamma=st.floats(0, 1),
    lam=st.floats(0, 1),
    n=st.integers(1, 30),
    p_term=st.floats(0, 1),
    p_trunc=st.floats(0, 1),
    seed=st.integers(0, 2**16),
)
def test_against_brute_force_hypothesis(T, N, gamma, lam, n, p_term, p_trunc, seed):
    r, v, nv, term, trunc = random_rollout(np.random.default_rng(seed), T, N, p_term, p_trunc)
    np.testing.assert_allclose(n_step_returns(r, nv, term, trunc, gamma, n),
                               columns(brute_n_step, r, nv, term, trunc, gamma=gamma, n=n), atol=1e-9)
    np.testing.assert_allclose(gae(r, v, nv, term, trunc, gamma, lam),
                               columns(brute_gae, r, v, nv, term, trunc, gamma=gamma, lam=lam), atol=1e-9)
    np.testing.assert_allclose(discounted_returns(r, nv, term, trunc, gamma),
                               columns(brute_returns, r, nv, term, trunc, gamma=gamma), atol=1e-9)


# ---------------------------------------------------------------------------------------------------------
# Closed forms that tie the estimators together
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("T,N", [(1, None), (25, None), (25, 6)])
def test_closed_forms(T, N):
    r, v, nv, term, trunc = random_rollout(np.random.default_rng(7), T, N)
    nv = consistent(v, nv, term, trunc)  # the telescoping sum behind lam = 1 needs it
    gamma = 0.9
    returns = discounted_returns(r, nv, term, trunc, gamma)
    # lam = 1: Monte-Carlo return minus the baseline;  lam = 0: the TD error
    np.testing.assert_allclose(gae(r, v, nv, term, trunc, gamma, 1.0), returns - v, atol=1e-12)
    np.testing.assert_allclose(gae(r, v, nv, term, trunc, gamma, 0.0), td_errors(r, v, nv, term, gamma))
    # n = 1: the TD target;  n >= T: the full return
    np.testing.assert_allclose(n_step_returns(r, nv, term, trunc, gamma, 1), td_errors(r, v, nv, term, gamma) + v)
    np.testing.assert_allclose(n_step_returns(r, nv, term, trunc, gamma, T), returns, atol=1e-12)


def test_hand_worked_example():
    # One episode that terminates at t=1, then a new one cut by the collector at t=3 (bootstrap 10).
    r = np.array([1.0, 1.0, 1.0, 1.0])
    nv = np.array([0.0, 123.0, 0.0, 10.0])  # 123 at the terminal step must never be used
    term = np.array([False, True, False, False])
    trunc = np.zeros(4, dtype=bool)
    np.testing.assert_allclose(discounted_returns(r, nv, term, trunc, 0.5), [1.5, 1.0, 4.0, 6.0])
    np.testing.assert_allclose(n_step_returns(r, nv, term, trunc, 0.5, 1), [1.0, 1.0, 1.0, 6.0])
    v = np.array([0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(td_errors(r, v, nv, term, 0.5), [0.5, 0.5, 0.5, 5.5])


def test_constant_reward_geometric_series():
    # r = 1 forever, never ending, bootstrap 0 at the cut: G_t = (1 - gamma^(T-t)) / (1 - gamma)
    T, gamma = 20, 0.9
    r, zeros = np.ones(T), np.zeros(T)
    flags = np.zeros(T, dtype=bool)
    expected = (1 - gamma ** (T - np.arange(T))) / (1 - gamma)
    np.testing.assert_allclose(discounted_returns(r, zeros, flags, flags, gamma), expected)
    np.testing.assert_allclose(gae(r, zeros, zeros, flags, flags, gamma, 1.0), expected)


# ---------------------------------------------------------------------------------------------------------
# terminated vs truncated
# ---------------------------------------------------------------------------------------------------------


def test_terminated_and_truncated_differ_where_they_must():
    T, gamma, lam = 6, 0.9, 0.8
    r = np.ones(T)
    v = np.full(T, 2.0)
    nv = np.full(T, 5.0)
    none = np.zeros(T, dtype=bool)
    ends_at_2 = none.copy()
    ends_at_2[2] = True
    with_term = gae(r, v, nv, ends_at_2, none, gamma, lam)
    with_trunc = gae(r, v, nv, none, ends_at_2, gamma, lam)
    # step 2 bootstraps only when truncated: its advantage differs by exactly gamma * nv[2]
    assert with_trunc[2] - with_term[2] == pytest.approx(gamma * nv[2])
    # after the end, the next episode is the same either way
    np.testing.assert_allclose(with_term[3:], with_trunc[3:])
    # before it, the difference is discounted by gamma * lam per step
    assert with_trunc[1] - with_term[1] == pytest.approx(gamma * lam * gamma * nv[2])
    # and neither lets the next episode flow back into step 2: cutting and not cutting differ
    assert not np.isclose(gae(r, v, nv, none, none, gamma, lam)[2], with_trunc[2])
    ret_term = discounted_returns(r, nv, ends_at_2, none, gamma)
    ret_trunc = discounted_returns(r, nv, none, ends_at_2, gamma)
    assert ret_term[2] == pytest.approx(1.0) and ret_trunc[2] == pytest.approx(1.0 + gamma * 5.0)


def test_terminated_wins_over_truncated():
    r, v, nv = np.ones(3), np.zeros(3), np.full(3, 7.0)
    term = np.array([False, True, False])
    both = term.copy()
    for fn in (lambda tr: gae(r, v, nv, term, tr, 0.9, 0.9),
               lambda tr: discounted_returns(r, nv, term, tr, 0.9),
               lambda tr: n_step_returns(r, nv, term, tr, 0.9, 2)):
        np.testing.assert_allclose(fn(both), fn(np.zeros(3, dtype=bool)))


# ---------------------------------------------------------------------------------------------------------
# numpy and torch
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_numpy_and_torch_agree(dtype):
    r, v, nv, term, trunc = random_rollout(np.random.default_rng(3), 17, 3)
    tt = [torch.tensor(x, dtype=dtype) for x in (r, v, nv)] + [torch.tensor(term), torch.tensor(trunc)]
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    cases = [
        (td_errors(r, v, nv, term, 0.9), td_errors(tt[0], tt[1], tt[2], tt[3], 0.9)),
        (discounted_returns(r, nv, term, trunc, 0.9), discounted_returns(tt[0], tt[2], tt[3], tt[4], 0.9)),
        (n_step_returns(r, nv, term, trunc, 0.9, 4), n_step_returns(tt[0], tt[2], tt[3], tt[4], 0.9, 4)),
        (gae(r, v, nv, term, trunc, 0.9, 0.7), gae(*tt, 0.9, 0.7)),
    ]
    for expected, got in cases:
        assert isinstance(got, torch.Tensor) and got.dtype == dtype and got.device == tt[0].device
        np.testing.assert_allclose(got.numpy(), expected, atol=tol)


def test_numpy_dtype_is_kept():
    r, v, nv, term, trunc = random_rollout(np.random.default_rng(4), 5)
    out = gae(r.astype(np.float32), v, nv, term, trunc, 0.9, 0.9)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32


# ---------------------------------------------------------------------------------------------------------
# Bad input: a clear error naming the argument, its value and what is allowed
# ---------------------------------------------------------------------------------------------------------


def test_bad_input_errors():
    r, v, nv, term, trunc = random_rollout(np.random.default_rng(5), 5)
    with pytest.raises(ValueError, match=r"gamma=1\.5.*\[0, 1\]"):
        gae(r, v, nv, term, trunc, 1.5, 0.9)
    with pytest.raises(ValueError, match=r"gamma=-0\.1"):
        td_errors(r, v, nv, term, -0.1)
    with pytest.raises(ValueError, match=r"lam=2\.0.*\[0, 1\]"):
        gae(r, v, nv, term, trunc, 0.9, 2.0)
    with pytest.raises(ValueError, match=r"n=0.*\[1, inf\]"):
        n_step_returns(r, nv, term, trunc, 0.9, 0)
    with pytest.raises(TypeError, match=r"n=2\.5"):
        n_step_returns(r, nv, term, trunc, 0.9, 2.5)
    with pytest.raises(ValueError, match=r"values has shape \(4,\).*rewards has shape \(5,\)"):
        gae(r, v[:4], nv, term, trunc, 0.9, 0.9)
    with pytest.raises(ValueError, match=r"\[T\] or \[T, N\]"):
        discounted_returns(r.reshape(5, 1, 1), nv.reshape(5, 1, 1), term.reshape(5, 1, 1),
                           trunc.reshape(5, 1, 1), 0.9)
    with pytest.raises(ValueError, match=r"T >= 1"):
        discounted_returns(r[:0], nv[:0], term[:0], trunc[:0], 0.9)
    with pytest.raises(TypeError, match=r"torch"):
        td_errors(torch.tensor(r), v, nv, term, 0.9)
    with pytest.raises(TypeError, match=r"gamma"):
        td_errors(r, v, nv, term, "0.9")
