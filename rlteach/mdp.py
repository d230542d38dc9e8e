"""A small chain MDP whose V^pi, Q^pi and A^pi we can compute exactly.

With the exact answer in hand, notebook 01 can measure how far each advantage estimator (TD error,
n-step, Monte Carlo, GAE) lands from the truth: its bias and its variance.

The chain
---------
    [L] <- 0 <-> 1 <-> ... <-> length-1 -> [R]

Non-terminal states 0 .. length-1; two terminal states: falling off the left end (reward ``left_reward``)
or the right end (reward ``right_reward``). Action 0 moves left, action 1 moves right; with probability
``slip`` the move goes the other way. Every other step gives ``step_reward``.

Exact values (a linear solve, for a policy ``pi[s, a]``):

    P_pi[s, s'] = sum_a pi[s, a] P[s, a, s']          r_pi[s] = sum_a pi[s, a] R[s, a]
    V = r_pi + gamma P_pi V   (the Bellman equation)  so   V = (I - gamma P_pi)^-1 r_pi
                                                       (on the non-terminal states; terminal V = 0)
    Q[s, a] = R[s, a] + gamma sum_s' P[s, a, s'] V[s']
    A[s, a] = Q[s, a] - V[s]                           (and sum_a pi[s, a] A[s, a] = 0)

The same V is the fixed point of the Bellman backup ``V <- r_pi + gamma P_pi V``: ``iterate_bellman``
applies it sweep after sweep from V = 0, and the error shrinks by a factor gamma or less per sweep.

``sample_episodes`` plays many episodes at once and returns them time-major, ``[T, num_episodes]``,
exactly the shape ``rlteach.advantage`` takes, so one call estimates advantages for all of them.

The last section is notebook 04's: the optimal Q* by value iteration (``optimal_q``) and tabular
Q-learning (``q_learning``), which learns Q* from sampled steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlteach.advantage import gae, n_step_returns

LEFT, RIGHT = 0, 1


@dataclass
class Episodes:
    """Episodes played side by side, time-major ``[T, num_episodes]``.

    Steps after an episode ended are padding: reward 0, ``terminated`` set, ``valid`` False, so nothing
    in the padding flows back into the real steps. ``next_states`` of a step that ends an episode is its
    final state: a terminal index (``length`` = left end, ``length + 1`` = right end) when it terminated,
    or the state it stopped in when it was truncated.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_states: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    valid: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return self.valid.sum(0)

    def as_one_rollout(self) -> dict:
        """The real steps of all episodes one after another, as ONE rollout of 1-D arrays (the way a
        single actor would have collected them): keys states, actions, rewards, next_states,
        terminated, truncated."""
        order = self.valid.T                                 # episode by episode, in time order
        keys = ("states", "actions", "rewards", "next_states", "terminated", "truncated")
        return {k: getattr(self, k).T[order] for k in keys}


class ChainMDP:
    """The chain described in the module docstring. States ``length`` and ``length + 1`` are the
    terminal left and right ends; arrays of values have ``length + 2`` entries, terminal ones 0."""

    def __init__(self, length=5, slip=0.1, step_reward=0.0, left_reward=-1.0, right_reward=1.0, gamma=0.9):
        if not isinstance(length, int) or length < 1:
            raise ValueError(f"length={length!r} is not allowed: an integer >= 1")
        for name, value in (("slip", slip), ("gamma", gamma)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}={value!r} is outside the allowed range [0, 1]")
        self.length, self.slip, self.gamma = length, slip, gamma
        self.step_reward, self.left_reward, self.right_reward = step_reward, left_reward, right_reward
        self.num_states, self.num_actions = length + 2, 2
        self.left_end, self.right_end = length, length + 1
        self.P, self.R = self._model()

    def _model(self):
        """P[s, a, s'] and the expected reward R[s, a] for the non-terminal states."""
        L = self.length
        P = np.zeros((L, 2, L + 2))
        R = np.zeros((L, 2))
        for s in range(L):
            for a, direction in ((LEFT, -1), (RIGHT, +1)):
                for move, prob in ((direction, 1 - self.slip), (-direction, self.slip)):
                    s2 = self._move(s, move)
                    P[s, a, s2] += prob
                    R[s, a] += prob * self._reward(s2)
        return P, R

    def _move(self, s, move):
        s2 = s + move
        return self.left_end if s2 < 0 else self.right_end if s2 >= self.length else s2

    def _reward(self, s2):
        return {self.left_end: self.left_reward, self.right_end: self.right_reward}.get(s2, self.step_reward)

    def policy(self, p_right: float) -> np.ndarray:
        """The policy that moves right with probability ``p_right`` in every state, as ``pi[s, a]``."""
        if not 0.0 <= p_right <= 1.0:
            raise ValueError(f"p_right={p_right!r} is outside the allowed range [0, 1]")
        return np.tile([1.0 - p_right, p_right], (self.length, 1))

    # --- exact values ---------------------------------------------------------------------------------

    def _check_policy(self, pi):
        pi = np.asarray(pi, dtype=float)
        if pi.shape != (self.length, 2) or (pi < 0).any() or not np.allclose(pi.sum(1), 1.0):
            raise ValueError(f"pi must be a [{self.length}, 2] array of action probabilities summing to 1 "
                             f"in each row, got shape {pi.shape}")
        return pi

    def policy_model(self, pi):
        """The chain as the policy sees it, for the non-terminal states s: ``(P_pi, r_pi)`` with
        P_pi[s, s'] = sum_a pi[s, a] P[s, a, s'] (to every state, terminal ends included: [length, length+2])
        and r_pi[s] = sum_a pi[s, a] R[s, a], the expected reward of one step from s."""
        pi = self._check_policy(pi)
        return np.einsum("sa,sat->st", pi, self.P), (pi * self.R).sum(1)

    def values(self, pi) -> np.ndarray:
        """Exact V^pi for every state (terminal states 0): solve (I - gamma P_pi) V = r_pi."""
        P_pi, r_pi = self.policy_model(pi)
        P_pi = P_pi[:, : self.length]                                  # transitions among non-terminals
        V = np.zeros(self.num_states)
        V[: self.length] = np.linalg.solve(np.eye(self.length) - self.gamma * P_pi, r_pi)
        return V

    def bellman_backup(self, V, pi) -> np.ndarray:
        """One sweep of the Bellman backup: V'(s) = r_pi(s) + gamma sum_s' P_pi(s, s') V(s'); terminal V' = 0."""
        V = np.asarray(V, dtype=float)
        if V.shape != (self.num_states,):
            raise ValueError(f"V must have one value per state, shape ({self.num_states},), got {V.shape}")
        P_pi, r_pi = self.policy_model(pi)
        new = np.zeros(self.num_states)
        new[: self.length] = r_pi + self.gamma * P_pi @ V
        return new

    def iterate_bellman(self, pi, num_sweeps=50, V0=None):
        """Iterative policy evaluation: ``bellman_backup`` applied ``num_sweeps`` times, from V0 (default 0).

        Returns ``(history, errors)``: history[j] is V after j sweeps, [num_sweeps + 1, num_states], and
        errors[j] = max_s |history[j](s) - V^pi(s)| against the exact solve ``values``. The backup is a
        contraction: each sweep multiplies that error by gamma or less, errors[j + 1] <= gamma * errors[j].
        """
        if not isinstance(num_sweeps, int) or num_sweeps < 0:
            raise ValueError(f"num_sweeps={num_sweeps!r} is not allowed: an integer >= 0")
        history = [np.zeros(self.num_states) if V0 is None else np.asarray(V0, dtype=float)]
        for _ in range(num_sweeps):
            history.append(self.bellman_backup(history[-1], pi))
        history = np.stack(history)
        return history, np.abs(history - self.values(pi)).max(1)

    def q_values(self, pi) -> np.ndarray:
        """Exact Q^pi[s, a] = R[s, a] + gamma sum_s' P[s, a, s'] V[s'] for the non-terminal states."""
        return self.R + self.gamma * self.P @ self.values(pi)

    def advantages(self, pi) -> np.ndarray:
        """Exact A^pi[s, a] = Q^pi[s, a] - V^pi[s]."""
        return self.q_values(pi) - self.values(pi)[: self.length, None]

    # --- playing episodes -----------------------------------------------------------------------------

    def sample_episodes(self, pi, num_episodes, rng, start_state=None, first_action=None, max_steps=100):
        """Play ``num_episodes`` episodes side by side under ``pi`` (vectorised over episodes).

        start_state   where every episode starts (default: the middle of the chain)
        first_action  force the first action (to estimate A(start_state, first_action)); None = follow pi
        max_steps     time limit: an episode still running after this many steps is ``truncated``
        """
        pi = self._check_policy(pi)
        s = np.full(num_episodes, self.length // 2 if start_state is None else start_state)
        cols = {k: [] for k in ("states", "actions", "rewards", "next_states", "terminated", "truncated",
                                "valid")}
        running = np.ones(num_episodes, dtype=bool)
        for t in range(max_steps):
            if not running.any():
                break
            a = (rng.random(num_episodes) < pi[np.minimum(s, self.length - 1), RIGHT]).astype(int)
            if t == 0 and first_action is not None:
                a[:] = first_action
            slipped = rng.random(num_episodes) < self.slip
            move = np.where((a == RIGHT) != slipped, 1, -1)
            s2 = np.where(s + move < 0, self.left_end, np.where(s + move >= self.length, self.right_end,
                                                                  s + move))
            s2 = np.where(running, s2, s)                    # finished episodes stand still (padding)
            reward = np.where(s2 == self.left_end, self.left_reward,
                              np.where(s2 == self.right_end, self.right_reward, self.step_reward))
            term_now = running & (s2 >= self.length)
            trunc_now = running & ~term_now & (t == max_steps - 1)
            for key, value in (("states", s), ("actions", a), ("rewards", np.where(running, reward, 0.0)),
                               ("next_states", s2), ("terminated", term_now | ~running),
                               ("truncated", trunc_now), ("valid", running.copy())):
                cols[key].append(value)
            running = running & ~term_now & ~trunc_now
            s = s2
        return Episodes(**{k: np.stack(v) for k, v in cols.items()})


# ---------------------------------------------------------------------------------------------------------
# Critics and the bias/variance of each estimator
# ---------------------------------------------------------------------------------------------------------


def fit_critic_mc(mdp: ChainMDP, pi, num_episodes, rng, max_steps=100) -> np.ndarray:
    """An IMPERFECT critic: the every-visit Monte-Carlo average return of each state from a few episodes.

    States never visited keep value 0. With few episodes it is noisy, which is the point: with the exact
    V every estimator is unbiased, so the bias/variance trade-off only shows with a critic like this.
    """
    ep = mdp.sample_episodes(pi, num_episodes, rng, max_steps=max_steps)
    zeros = np.zeros_like(ep.rewards)
    returns = n_step_returns(ep.rewards, zeros, ep.terminated, ep.truncated, mdp.gamma, n=ep.rewards.shape[0])
    totals, counts = np.zeros(mdp.num_states), np.zeros(mdp.num_states)
    np.add.at(totals, ep.states[ep.valid], returns[ep.valid])
    np.add.at(counts, ep.states[ep.valid], 1)
    V = np.divide(totals, counts, out=np.zeros(mdp.num_states), where=counts > 0)
    V[mdp.length:] = 0.0
    return V


def offset_critic(mdp: ChainMDP, pi, offset) -> np.ndarray:
    """An imperfect critic with a SYSTEMATIC error: the exact V^pi plus ``offset`` in every non-terminal state.

    A learned critic's errors are rarely independent from state to state; errors of one sign along the way
    are what bootstrapping cannot average out, so they show the bias of small lam and n most clearly.
    """
    critic = mdp.values(pi)
    critic[: mdp.length] += offset
    return critic


def estimate_first_advantage(mdp, pi, critic, state, action, num_episodes, rng, lam=None, n=None,
                             max_steps=100) -> np.ndarray:
    """Estimates of A(state, action), one per episode that starts with (state, action) and then follows pi.

    Give ``lam`` for GAE(gamma, lam) or ``n`` for the n-step estimate G^(n) - V(s), both with ``critic``
    (an array of state values) as V. lam = 1 (or n >= max_steps) is Monte Carlo, lam = 0 (or n = 1) the
    TD error.
    """
    if (lam is None) == (n is None):
        raise ValueError("give exactly one of lam (GAE) or n (n-step returns)")
    ep = mdp.sample_episodes(pi, num_episodes, rng, start_state=state, first_action=action,
                             max_steps=max_steps)
    critic = np.asarray(critic, dtype=float)
    values, next_values = critic[ep.states], critic[ep.next_states]
    if lam is not None:
        adv = gae(ep.rewards, values, next_values, ep.terminated, ep.truncated, mdp.gamma, lam)
    else:
        adv = n_step_returns(ep.rewards, next_values, ep.terminated, ep.truncated, mdp.gamma, n) - values
    return adv[0]


def bias_variance(mdp, pi, critic, state, action, num_episodes, seed, lams=(), ns=(), max_steps=100):
    """Bias, variance and mean squared error of each estimator of A(state, action), for every lam and n.

    What is compared: every estimate is ``A_hat = (an estimate of Q(s, a)) - critic[s]``. The baseline
    critic[s] is one number at s: it shifts all estimates alike and drops out of the policy gradient in
    expectation (notebook 02). So the bias that matters is that of the Q part, and it is measured
    against the exact advantage *with the critic's own baseline*, Q(s, a) - critic[s]:

        bias = mean(A_hat) - (Q(s, a) - critic[s])        variance = var(A_hat)        mse = bias^2 + var

    (Against the true A = Q - V, every row would carry the same extra V(s) - critic[s], for both actions.)

    With the exact critic every estimator is unbiased; with an imperfect one, lam = 0 (the TD error) is
    biased by gamma * E[critic - V](s') and lam = 1 (Monte Carlo) is not, but has the largest variance.
    Returns a list of dicts {"estimator", "param", "mean", "bias", "variance", "mse", "mse_se"}; ``mse_se`` is
    the standard error of ``mse`` (which is the mean of the squared errors (A_hat - target)^2): what two MSEs
    must differ by before ``rlteach.verdict.compare`` calls one lower. Every setting uses the same seed, so the
    estimators see the same episodes.
    """
    target = mdp.q_values(pi)[state, action] - np.asarray(critic, dtype=float)[state]
    rows = []
    for kind, params in (("gae", lams), ("n-step", ns)):
        for p in params:
            rng = np.random.default_rng(seed)
            kw = {"lam": p} if kind == "gae" else {"n": p}
            est = estimate_first_advantage(mdp, pi, critic, state, action, num_episodes, rng,
                                           max_steps=max_steps, **kw)
            bias = float(est.mean() - target)
            squared_errors = (est - target) ** 2                  # their mean is bias^2 + variance
            rows.append({"estimator": kind, "param": p, "mean": float(est.mean()), "bias": bias,
                         "variance": float(est.var()), "mse": bias**2 + float(est.var()),
                         "mse_se": float(squared_errors.std(ddof=1) / np.sqrt(len(est)))})
    return rows


# ---------------------------------------------------------------------------------------------------------
# Learning Q* from experience: tabular Q-learning (notebook 04 opens with it)
# ---------------------------------------------------------------------------------------------------------


def optimal_q(mdp: ChainMDP, tol=1e-12, max_sweeps=100_000) -> np.ndarray:
    """Q*[s, a] of the non-terminal states by value iteration on the Bellman OPTIMALITY equation:

        Q_{k+1}[s, a] = R[s, a] + gamma sum_s' P[s, a, s'] max_a' Q_k[s', a']     (terminal s': max = 0)

    repeated until no entry moves by more than ``tol``. For gamma < 1 each sweep shrinks the error by a
    factor gamma, so it converges from any start. Acting greedily on Q* is an optimal policy."""
    Q = np.zeros((mdp.length, 2))
    for _ in range(max_sweeps):
        V = np.zeros(mdp.num_states)
        V[: mdp.length] = Q.max(1)                     # max_a' Q(s', a'); the terminal states keep 0
        Q_next = mdp.R + mdp.gamma * mdp.P @ V
        if np.abs(Q_next - Q).max() <= tol:
            return Q_next
        Q = Q_next
    raise RuntimeError(f"value iteration did not converge in max_sweeps={max_sweeps} sweeps (gamma=1?)")


def greedy_policy(Q) -> np.ndarray:
    """pi[s, a] that takes argmax_a Q[s, a] in every state (ties: the lower action, LEFT)."""
    Q = np.asarray(Q, dtype=float)
    return np.eye(Q.shape[1])[Q.argmax(1)]


def q_learning(mdp: ChainMDP, num_steps, lr=0.1, epsilon=0.2, seed=0, record_every=100):
    """Tabular Q-learning (Watkins 1989) on the chain, from sampled transitions only (it never reads P or R):

        a     = a random action with probability epsilon, else argmax_a Q(s, a)      (epsilon-greedy;
                                                                               ties at random)
        s', r = one step of the chain
        Q(s, a) <- Q(s, a) + lr [r + gamma max_a' Q(s', a') - Q(s, a)]         (max = 0 if s' is terminal)

    Every episode starts in a uniformly random state, so every (s, a) keeps being tried. Returns
    ``(Q, steps, errors)``: the learned table [length, 2], and max|Q - Q*| after every ``record_every``
    steps. With a constant step size ``lr`` the error falls to a floor that shrinks with lr (a slippery chain
    gives noisy targets); with ``slip=0`` and ``lr=1`` it reaches 0."""
    if not 0.0 < lr <= 1.0:
        raise ValueError(f"lr={lr!r} is outside the allowed range (0, 1]")
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon={epsilon!r} is outside the allowed range [0, 1]")
    for name, value in (("num_steps", num_steps), ("record_every", record_every)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} is not allowed: an integer >= 1")
    q_star, gamma, L = optimal_q(mdp), mdp.gamma, mdp.length
    rng = np.random.default_rng(seed)
    u_explore, u_action, u_slip = rng.random((3, num_steps)).tolist()    # all random numbers at once: fast
    starts = rng.integers(0, L, num_steps).tolist()
    reward_of = [mdp.step_reward] * L + [mdp.left_reward, mdp.right_reward]   # by the state s' arrived in
    Q = [[0.0, 0.0] for _ in range(L)]
    steps, errors = [], []
    s = starts[0]
    for t in range(num_steps):
        q = Q[s]
        if u_explore[t] < epsilon or q[LEFT] == q[RIGHT]:         # explore, or break a tie at random
            a = int(u_action[t] < 0.5)
        else:
            a = int(q[RIGHT] > q[LEFT])
        move = (1 if a == RIGHT else -1) * (-1 if u_slip[t] < mdp.slip else 1)
        s2 = mdp._move(s, move)
        bootstrap = max(Q[s2]) if s2 < L else 0.0              # no future after a terminal state
        q[a] += lr * (reward_of[s2] + gamma * bootstrap - q[a])
        s = s2 if s2 < L else starts[t]                         # a new episode after a terminal state
        if (t + 1) % record_every == 0:
            steps.append(t + 1)
            errors.append(float(np.abs(np.array(Q) - q_star).max()))
    return np.array(Q), np.array(steps), np.array(errors)
