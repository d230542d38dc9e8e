"""rlteach.verdict: the words every notebook prints next to a comparison follow the numbers."""

import numpy as np
import pytest

from rlteach.verdict import compare


def test_a_gap_beyond_twice_the_noise_is_ahead_or_behind_and_inside_it_is_within_noise():
    a, b = [10.0, 11.0, 9.0], [5.0, 6.0, 4.0]                       # se of the gap sqrt(1/3 + 1/3) = 0.816
    assert compare(a, b).word == "ahead" and compare(b, a).word == "behind"
    assert compare(a, b, higher_is_better=False).word == "behind"   # e.g. seconds: more is worse
    assert compare([10.0, 11.0, 9.0], [9.0, 10.0, 8.0]).word == "within noise"   # gap 1 < 2 * 0.816


def test_the_noise_is_the_standard_error_of_the_gap():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 8), rng.normal(0, 2, 5)
    v = compare(a, b)
    assert v.noise == pytest.approx(np.sqrt(a.var(ddof=1) / 8 + b.var(ddof=1) / 5))
    assert v.gap == pytest.approx(a.mean() - b.mean())


def test_equal_samples_drawn_many_times_are_called_within_noise_most_of_the_time():
    rng = np.random.default_rng(1)
    words = [compare(rng.normal(0, 1, 10), rng.normal(0, 1, 10)).word for _ in range(400)]
    assert words.count("within noise") / len(words) > 0.9             # z = 2: about 95%


def test_single_numbers_need_a_measured_noise_and_say_so():
    with pytest.raises(ValueError, match="noise"):
        compare(1.8, 2.0)
    assert compare(1.8, 2.0, noise=0.05).word == "behind"
    assert compare(1.8, 2.0, noise=0.2).word == "within noise"
    assert compare(1.8, [2.0, 2.1, 1.9]).noise == pytest.approx(np.sqrt(0.01 + 0.01 / 3))   # borrows b's spread


def test_the_sentence_names_both_sides_the_numbers_and_the_right_relation():
    v = compare([1.80, 1.82, 1.78], [1.99, 2.01, 1.97])
    text = v.says("4 actors", "2 actors", better="were faster than", worse="were slower than", unit="x")
    assert text.startswith("4 actors were slower than 2 actors (1.80x vs 1.99x; gap 0.19x, noise 0.02x")
    assert compare([1, 2], [1, 2]).says("A", "B").startswith("A was within noise of B")


@pytest.mark.parametrize("kwargs, pattern", [({"a": []}, "a="), ({"b": [1.0, float("nan")]}, "b="),
                                             ({"noise": -1.0}, "noise="), ({"z": 0.0}, "z=")])
def test_bad_input_is_refused_by_name(kwargs, pattern):
    args = {"a": [1.0, 2.0], "b": [1.0, 3.0], **kwargs}
    with pytest.raises(ValueError, match=pattern):
        compare(**args)
