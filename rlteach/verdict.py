"""Words from numbers: is A ahead of B, behind it, or within the noise? (every notebook's printed verdicts)

A sentence next to a measurement must say what the measurement says, on every machine. So no notebook
picks its words with a threshold of its own: each asks ``compare`` and prints what it returns.

    d      = mean(a) - mean(b)                          the gap (turned round when lower is better)
    noise  = sqrt(var(a) / n_a + var(b) / n_b)          the standard error of d, from the repeats
    ahead           if d >  z * noise
    behind          if d < -z * noise
    within noise    otherwise                           (z = 2: about 95% of pure-noise gaps stay inside)

``a`` and ``b`` are repeats of one measurement (seeds, timing runs). Where only one number of each exists,
the noise must be measured some other way (repeats of the same setting) and passed as ``noise``: a single
pair of numbers says nothing about noise, and ``compare`` refuses to guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rlteach.messages import N_, tr, tr_in

VERDICTS = ("ahead", "behind", "within noise")
# Units ``says`` translates itself (a speed-up "1.8x" is "1.8 倍" in Chinese; microseconds are 微秒); symbols such as
# " ms" and "/s" stay as they are.
UNITS = (N_("x"), N_(" us"), N_(" µs"))


def _as_samples(name, x) -> np.ndarray:
    samples = np.atleast_1d(np.asarray(x, dtype=float))
    if samples.ndim != 1 or samples.size == 0 or not np.all(np.isfinite(samples)):
        raise ValueError(f"{name}={x!r}: give one number or a non-empty list of finite numbers")
    return samples


@dataclass(frozen=True)
class Verdict:
    """``word``: "ahead", "behind" or "within noise" (A against B); ``gap``: mean(a) - mean(b), as measured;
    ``noise``: the standard error of that gap; ``z``: how many noises a gap must exceed to count."""

    word: str
    a: float
    b: float
    gap: float
    noise: float
    z: float

    def says(self, a_name: str, b_name: str, better=None, worse=None, same=None, fmt="{:,.2f}", unit="") -> str:
        """One sentence: "<A> <better|worse|same> <B> (<a> vs <b><unit>; gap <g>, noise <n>)", e.g.
        "4 actors were slower than 2 actors (1.80x vs 1.99x; gap 0.19x, noise 0.02x)". The relation words
        default to "was ahead of", "was behind", "was within noise of"; a caller's own words come translated
        (``tr("were faster than")``), and the frame is translated here."""
        relation = {"ahead": tr("was ahead of") if better is None else better,
                    "behind": tr("was behind") if worse is None else worse,
                    "within noise": tr("was within noise of") if same is None else same}[self.word]
        unit = tr(unit) if unit in UNITS else unit
        fields = dict(a_name=a_name, relation=relation, b_name=b_name, a=fmt.format(self.a), b=fmt.format(self.b),
                      gap=fmt.format(abs(self.gap)), noise=fmt.format(self.noise), unit=unit)
        if self.word == "within noise":     # Chinese words this one apart: "A 与 B 的差距未超出噪声"
            return tr_in("within noise", "{a_name} {relation} {b_name} ({a}{unit} vs {b}{unit}; gap {gap}{unit}, "
                         "noise {noise}{unit})", **fields)
        return tr("{a_name} {relation} {b_name} ({a}{unit} vs {b}{unit}; gap {gap}{unit}, noise {noise}{unit})",
                  **fields)


def compare(a, b, *, higher_is_better=True, noise=None, z=2.0) -> Verdict:
    """Is ``a`` ahead of ``b``? Each is a number or a list of repeats; ``noise`` (the standard error of the
    gap) is measured from the repeats unless given. See the module docstring for the rule."""
    a, b = _as_samples("a", a), _as_samples("b", b)
    if noise is None:
        if a.size < 2 and b.size < 2:
            raise ValueError("one number each says nothing about noise: give repeats (lists) or noise=")
        # A side with one number borrows the other side's spread (the same measurement, the same noise).
        var_a = a.var(ddof=1) if a.size > 1 else b.var(ddof=1)
        var_b = b.var(ddof=1) if b.size > 1 else a.var(ddof=1)
        noise = math.sqrt(var_a / a.size + var_b / b.size)
    if not (noise >= 0 and math.isfinite(noise)):
        raise ValueError(f"noise={noise!r}: a standard error is a finite number >= 0")
    if not z > 0:
        raise ValueError(f"z={z!r}: must be > 0")
    gap = float(a.mean() - b.mean())
    better = gap if higher_is_better else -gap
    word = "ahead" if better > z * noise else "behind" if better < -z * noise else "within noise"
    return Verdict(word, float(a.mean()), float(b.mean()), gap, float(noise), z)
