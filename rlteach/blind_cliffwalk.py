"""The Blind Cliffwalk: why the order of replay matters (Schaul et al. 2016, "Prioritized Experience Replay",
section 3.1, figures 1 and 2, appendix B.1).

A chain of n states s = 0 .. n-1 and two actions, "right" and "wrong". "wrong" ends the episode with reward
0; "right" moves on to s + 1, and "right" in the last state ends the episode with reward 1. A random agent
needs about 2^n tries to see that reward once: the one useful transition is hidden among many failures.

The replay memory (``memory``) holds what a random agent would see: all 2^n action sequences of length n,
each played from s = 0 until it ends. A sequence whose first "wrong" is at step k leaves k + 1 transitions,
the all-"right" one n, so the memory holds sum_k (k+1) 2^(n-k-1) + n = 2^(n+1) - 2 transitions, only ONE
of them with a reward. The same (s, a) appears 2^(n-s-1) times: a random agent's memory is repetitive.

Tabular Q-learning replays one transition (s, a, r, s') at a time (``updates_to_learn``):

    delta = r + gamma * (1 - done) * max_a' Q(s', a') - Q(s, a)                 (td_errors)
    Q(s, a) <- Q(s, a) + eta * delta,       eta = 1/4,   gamma = 1 - 1/n        (updates_to_learn)

with no importance-sampling correction. The true values are Q*(s, right) = gamma^(n-1-s), Q*(s, wrong) = 0
(``q_star``), and Q has learned once the mean squared error over all 2n pairs, mean (Q - Q*)^2, is below
1e-3. Q starts at theta_i ~ N(0, 0.1) ("small values near zero", appendix B.1; we read 0.1 as the standard
deviation), drawn from the seed. Which transition is replayed next:

    uniform       P(i) = 1 / N, N = 2^(n+1) - 2
    proportional  P(i) = p_i^alpha / sum_k p_k^alpha, p_i = |delta_i| + eps, on ``replay.PrioritizedReplay``
                  (its sum-tree, beta = 0): every transition starts at the same, maximal priority, and the
                  sampled one gets its new |delta| + eps after each update (priorities are stale otherwise)
    rank          P(i) = rank(i)^-alpha / sum_k k^-alpha, rank 1 the largest stored |delta| (kept sorted)
    oracle        greedy, in hindsight: the transition whose update lowers mean (Q - Q*)^2 the most

alpha: appendix B.1 does not state the alpha of figure 2's prioritized variants, so we take the values the
paper chose for Atari: alpha = 0.7 for rank-based and 0.6 for proportional (``ALPHA``); nothing was tuned
here. The paper's memory is filled "in random order"; we shuffle it with the seed. Figure 2 runs the greedy
TD-error order on the table (left) and the two stochastic variants with linear function approximation
(right); here all four strategies use the table, so rank-based and proportional are tabular too.

The paper's result (``PAPER_RESULT``): on log-log axes the updates uniform replay needs grow with the memory
size, the oracle's far more slowly, an exponential gap; rank-based and proportional lie in between.
Timing: ``sweep(range(2, 12), REPLAYS, range(10))``, n = 2 to 11 with ten seeds, took 43 s on one core of a
busy 2-core machine (n = 11 half of it, mostly proportional replay's sum-tree); each n more doubles that.
``updates_to_learn`` raises past a cap of 1000 updates per stored transition, far above any run seen.
"""

from __future__ import annotations

import numpy as np

from rlteach.checks import MAX_SEED, check_choice, check_int
from rlteach.messages import N_, tr, tr_in
from rlteach.replay import PrioritizedReplay, priorities_from_td

__all__ = ["REPLAYS", "PAPER_RESULT", "memory", "q_star", "td_errors", "updates_to_learn", "sweep", "medians",
           "gap", "verdict"]

REPLAYS = ("uniform", "rank", "proportional", "oracle")
REPLAY_NAMES = {"uniform": N_("uniform"), "rank": N_("rank"), "proportional": N_("proportional"),
                "oracle": N_("oracle")}      # how a sentence names each replay: tr(REPLAY_NAMES[replay])
WRONG, RIGHT = 0, 1                  # action indices (tabular: which one is "right" does not matter)
ETA = 0.25                           # the step size, fixed for every n (appendix B.1)
THRESHOLD = 1e-3                     # learned once mean (Q - Q*)^2 < THRESHOLD
Q_INIT_STD = 0.1                     # theta_i ~ N(0, 0.1)
ALPHA = {"rank": 0.7, "proportional": 0.6}   # the paper's Atari alphas; B.1 gives none
EPS = 1e-6                           # p_i = |delta_i| + eps keeps every transition sampleable
MAX_N = 20                           # 2^21 transitions: far past what runs in seconds
UPDATES_PER_TRANSITION = 1000        # the cap: a run that has not learned after 1000 * N updates raises
PAPER_RESULT = N_("Schaul et al. 2016, section 3, figures 1 and 2: on log-log axes the number of updates "
                   "uniform replay needs to learn grows with the memory size (exponentially with n), the "
                   "oracle's far more slowly, an exponential gap; rank-based and proportional prioritized "
                   "replay lie in between.")


def gamma_of(n: int) -> float:
    """gamma = 1 - 1/n keeps the values on the same scale for every n (appendix B.1)."""
    return 1.0 - 1.0 / n


def memory(n: int) -> dict:
    """The transitions of all 2^n action sequences, each played from state 0 until it ends, as arrays
    s, a, r, s_next, done of length 2^(n+1) - 2, sequence after sequence (sequence j's action at step t
    is bit t of j: 1 = right)."""
    n = check_int("n", n, 1, MAX_N)
    t = np.arange(n)
    actions = (np.arange(2**n)[:, None] >> t) & 1                   # [2^n sequences, n steps]
    right_so_far = np.cumprod(actions, axis=1)                       # 1 while every action was "right"
    played = np.hstack([np.ones((2**n, 1), int), right_so_far[:, :-1]]) == 1   # step t happens
    s = np.broadcast_to(t, actions.shape)[played]
    a = actions[played]
    last = s == n - 1
    return {"s": s, "a": a,
            "r": ((a == RIGHT) & last).astype(float),                # the one reward: "right" at the end
            "s_next": np.minimum(s + 1, n - 1),                      # unused where done
            "done": ((a == WRONG) | last).astype(float)}


def q_star(n: int) -> np.ndarray:
    """Q*[s, a]: gamma^(n-1-s) for "right" (one reward, n-1-s steps later), 0 for "wrong"."""
    n = check_int("n", n, 1, MAX_N)
    Q = np.zeros((n, 2))
    Q[:, RIGHT] = gamma_of(n) ** (n - 1 - np.arange(n))
    return Q


def td_errors(Q: np.ndarray, mem: dict, gamma: float) -> np.ndarray:
    """delta_i = r + gamma (1 - done) max_a' Q(s', a') - Q(s, a) for every transition of ``mem`` at once."""
    return mem["r"] + gamma * (1 - mem["done"]) * Q[mem["s_next"]].max(axis=1) - Q[mem["s"], mem["a"]]


# --- which transition next: one small class per strategy, each with pick() and tell(i, delta) ------------


class Uniform:
    def __init__(self, mem, rng):
        self.N, self.rng = len(mem["s"]), rng

    def pick(self, Q) -> int:
        return int(self.rng.random() * self.N)          # u ~ U[0, 1): i = floor(u N)

    def tell(self, i, delta):
        pass                                            # uniform replay keeps no priorities


class Proportional:
    """P(i) = p_i^alpha / sum_k p_k^alpha on the package's sum-tree (the one Ape-X's learner uses)."""

    def __init__(self, mem, rng):
        self.replay = PrioritizedReplay(len(mem["s"]), alpha=ALPHA["proportional"], seed=rng)
        self.replay.add_batch({"i": np.arange(len(mem["s"]))})      # priority None: the max priority, 1.0

    def pick(self, Q) -> int:
        _, indices, _ = self.replay.sample(1, beta=0.0)              # beta = 0: no importance weights
        return int(indices[0])

    def tell(self, i, delta):
        self.replay.update_priorities(np.array([i]), priorities_from_td([delta], EPS))


class Rank:
    """P(i) = rank(i)^-alpha / sum_k k^-alpha, rank 1 the largest stored |delta|. Every transition starts at
    the top priority (ties rank in memory order, which is shuffled). Kept sorted: ``order[k - 1]`` is the
    transition of rank k and ``minus_p`` its -|delta|, ascending; an update moves one transition."""

    def __init__(self, mem, rng):
        N = len(mem["s"])
        self.order, self.minus_p, self.rng = np.arange(N), np.full(N, -np.inf), rng
        weights = np.arange(1, N + 1) ** -ALPHA["rank"]
        self.cdf = np.cumsum(weights) / weights.sum()                # P(rank <= k): fixed, depends on N only

    def pick(self, Q) -> int:
        self.k = min(int(np.searchsorted(self.cdf, self.rng.random(), side="right")), len(self.order) - 1)
        return int(self.order[self.k])                               # rank k + 1

    def tell(self, i, delta):
        k, order, minus_p = self.k, self.order, self.minus_p
        j = int(np.searchsorted(minus_p, -abs(delta), side="right"))   # its new place: after the equal ones
        if j > k:                                                   # lower priority: shift the ones between up
            j -= 1
            order[k:j], minus_p[k:j] = order[k + 1:j + 1], minus_p[k + 1:j + 1]
        else:                                                       # higher: shift the ones between down
            order[j + 1:k + 1], minus_p[j + 1:k + 1] = order[j:k], minus_p[j:k]
        order[j], minus_p[j] = i, -abs(delta)


class Oracle:
    """Greedy in hindsight: try every transition's update at once and keep the one after which
    mean (Q - Q*)^2 is lowest (only Q(s, a) changes, so compare its squared error before and after)."""

    def __init__(self, mem, rng):
        self.mem = mem
        self.Q_star = q_star(int(mem["s"].max()) + 1)
        self.gamma = gamma_of(len(self.Q_star))

    def pick(self, Q) -> int:
        m = self.mem
        before = Q[m["s"], m["a"]] - self.Q_star[m["s"], m["a"]]
        after = before + ETA * td_errors(Q, m, self.gamma)
        return int(np.argmax(before**2 - after**2))                  # the largest drop of the loss

    def tell(self, i, delta):
        pass


STRATEGIES = {"uniform": Uniform, "rank": Rank, "proportional": Proportional, "oracle": Oracle}


def updates_to_learn(n: int, replay: str, seed: int) -> int:
    """The number of Q-learning updates, one replayed transition each, until mean (Q - Q*)^2 < 1e-3.

    n       the chain's length, 1 .. MAX_N (the memory holds 2^(n+1) - 2 transitions)
    replay  "uniform", "rank", "proportional" or "oracle" (module docstring)
    seed    draws, in this order, Q's start N(0, 0.1) [n, 2], the memory's order (a permutation), then
            each pick's random numbers

    Raises RuntimeError if Q has not learned after UPDATES_PER_TRANSITION * (2^(n+1) - 2) updates.
    """
    n = check_int("n", n, 1, MAX_N)
    check_choice("replay", replay, REPLAYS)
    seed = check_int("seed", seed, 0, MAX_SEED)
    rng = np.random.default_rng(seed)
    Q = rng.normal(0.0, Q_INIT_STD, size=(n, 2))
    mem = memory(n)
    order = rng.permutation(len(mem["s"]))
    mem = {k: v[order] for k, v in mem.items()}
    chooser = STRATEGIES[replay](mem, rng)
    gamma, Q_star = gamma_of(n), q_star(n)
    s, a, r, s_next, done = (mem[k].tolist() for k in ("s", "a", "r", "s_next", "done"))   # fast scalars
    sse = float(((Q - Q_star) ** 2).sum())              # sum of squared errors, kept up to date below
    cap = UPDATES_PER_TRANSITION * len(s)
    for updates in range(1, cap + 1):
        i = chooser.pick(Q)
        si, ai = s[i], a[i]
        delta = r[i] + gamma * (1.0 - done[i]) * max(Q[s_next[i]]) - Q[si, ai]
        old = Q[si, ai] - Q_star[si, ai]
        Q[si, ai] += ETA * delta                        # Q(s, a) <- Q(s, a) + eta * delta
        sse += (old + ETA * delta) ** 2 - old**2
        chooser.tell(i, delta)
        if sse < THRESHOLD * 2 * n:                     # mean over the 2n pairs < 1e-3
            sse = float(((Q - Q_star) ** 2).sum())      # confirm without the running sum's rounding
            if sse < THRESHOLD * 2 * n:
                return updates
    raise RuntimeError(f"updates_to_learn(n={n}, replay={replay!r}, seed={seed}) did not learn within "
                       f"{cap} updates (UPDATES_PER_TRANSITION = {UPDATES_PER_TRANSITION} per transition)")


# --- the experiment of figures 1 and 2 ------------------------------------------------------------------


def sweep(ns, replays=REPLAYS, seeds=range(10)) -> list[dict]:
    """Every (n, replay, seed): a list of dicts n, memory_size, replay, seed, updates."""
    return [{"n": int(n), "memory_size": 2 ** (int(n) + 1) - 2, "replay": replay, "seed": int(seed),
             "updates": updates_to_learn(n, replay, seed)}
            for n in ns for replay in replays for seed in seeds]


def medians(records) -> dict:
    """{(replay, n): the median updates over its seeds}."""
    groups: dict = {}
    for rec in records:
        groups.setdefault((rec["replay"], rec["n"]), []).append(rec["updates"])
    return {key: float(np.median(v)) for key, v in groups.items()}


def gap(records, n: int) -> float:
    """The median updates of uniform replay over the oracle's, at chain length n."""
    med = medians(records)
    return med[("uniform", n)] / med[("oracle", n)]


def verdict(records) -> str:
    """One sentence from the numbers: does the uniform/oracle gap grow with n, roughly exponentially
    (a straight line in log(gap) against n), and do rank and proportional lie in between?"""
    med = medians(records)
    ns = sorted(n for (replay, n) in med if replay == "uniform" and ("oracle", n) in med)
    ratios = np.array([gap(records, n) for n in ns])
    slope = np.polyfit(ns, np.log(ratios), 1)[0] if len(ns) > 1 else 0.0     # log(gap) ~ slope * n + c
    grows = len(ns) > 1 and ratios[-1] > ratios[0] and slope > 0
    fit = np.corrcoef(ns, np.log(ratios))[0, 1] if grows and len(ns) > 2 else 0.0
    if grows and fit > 0.9:
        shape = tr("grows roughly exponentially with n, about {factor:.2f}x per extra state (log-linear fit, "
                   "r = {fit:.2f})", factor=np.exp(slope), fit=fit)
    elif grows:
        shape = tr("grows with n, but not as a clean exponential")
    else:
        shape = tr("does not grow with n")
    between = [n for n in ns if all((r, n) in med and med[("oracle", n)] <= med[(r, n)] <= med[("uniform", n)]
                                    for r in ("rank", "proportional"))]
    saved = {r: [med[("uniform", n)] / med[(r, n)] for n in (ns[0], ns[-1])] for r in ("rank", "proportional")
             if all((r, n) in med for n in ns)}
    savings = []
    for r, x in saved.items():
        name = tr(REPLAY_NAMES[r])
        savings.append(tr("; {replay} needed {share_last:.2g} of uniform's updates at n = {n_last} ({share_first:.2g} "
                          "at n = {n_first})", replay=name, share_last=1 / x[-1], n_last=ns[-1], share_first=1 / x[0],
                          n_first=ns[0]))
    fields = dict(gap_first=ratios[0], n_first=ns[0], gap_last=ratios[-1], n_last=ns[-1], shape=shape,
                  between=len(between), count=len(ns), saving="".join(savings))
    if len(between) == len(ns):         # Chinese says "at every chain length" here
        return tr_in("every chain length", "Uniform replay needed {gap_first:.3g}x the oracle's median updates at "
                     "n = {n_first} and {gap_last:.3g}x at n = {n_last}: the gap {shape}; rank-based and proportional "
                     "lie between oracle and uniform at {between} of {count} chain lengths{saving}.", **fields)
    return tr("Uniform replay needed {gap_first:.3g}x the oracle's median updates at n = {n_first} and "
              "{gap_last:.3g}x at n = {n_last}: the gap {shape}; rank-based and proportional lie between "
              "oracle and uniform at {between} of {count} chain lengths{saving}.", **fields)
