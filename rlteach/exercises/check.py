"""What every checker shares: the placeholder message, the one-line report and its verdict, reading an answer
as an array."""

from __future__ import annotations

import numpy as np

from rlteach.messages import N_, tr

NOT_ATTEMPTED = N_("Not attempted yet: replace the ... with your answer and run the cell again.")


class Verdict:
    """What a checker returns: true when the answer is right (``if check(answer): ...``), with ``ok`` and
    the ``message`` it printed. In a notebook it displays nothing: the printed line is the whole reply,
    with no stray ``True``/``False`` under it."""

    def __init__(self, ok: bool, message: str):
        self.ok, self.message = bool(ok), message

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"Verdict(ok={self.ok})"

    def _ipython_display_(self):
        """IPython calls this instead of showing the repr; the message is already printed."""


def report(ok: bool, message: str) -> Verdict:
    """Print one line (prefixed "Correct!" or "Not yet:") and return the ``Verdict``."""
    if message == NOT_ATTEMPTED:
        line = tr(NOT_ATTEMPTED)
    elif ok:
        line = tr("Correct! {message}", message=message)
    else:
        line = tr("Not yet: {message}", message=message)
    print(line)
    return Verdict(ok, line)


def as_array(answer, shape):
    """``answer`` as a float array of ``shape``, or None if it is not one."""
    try:
        arr = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return None
    return arr if arr.shape == shape else None


def choice_letters(answer, choices):
    """The letters picked in a multiple-choice ``answer`` ('ac', ['a', 'c'], {'a', 'c'}) as a set, or the
    message to report when the answer is not a choice of ``choices``' letters."""
    if not isinstance(answer, str | list | tuple | set | frozenset):
        return tr("give the letters, e.g. {{'a', 'c'}} or 'ac', got {answer!r}.", answer=answer)
    picked = {str(x).strip().lower() for x in answer} - {"", ",", " "}
    unknown = picked - set(choices)
    if unknown:
        return tr("{unknown} are not among the choices {choices}.", unknown=sorted(unknown), choices=sorted(choices))
    return picked


ONE_MORE_TRUE = N_("one more is true: look again at {letter}.")


def check_choices(answer, choices, true, praise, hints, missing=ONE_MORE_TRUE):
    """A multiple-choice checker: "Not attempted" on ``...``; the praise when exactly the ``true`` letters
    are picked; else the hint of the first (alphabetically) false letter picked, or ``missing`` (a message
    marked with ``N_``, its ``{letter}`` the first true one missing)."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    picked = choice_letters(answer, choices)
    if isinstance(picked, str):
        return report(False, picked)
    if picked == true:
        return report(True, praise)
    wrong = sorted(picked - true)
    if wrong:
        return report(False, hints[wrong[0]])
    return report(False, tr(missing, letter=sorted(true - picked)[0]))


def two_lists(answer, names, size):
    """For an exercise whose answer is two lists of ``size`` numbers, ``names`` = (first, second): the two
    arrays, or, when the answer is ``...`` or malformed, the report's ``Verdict`` (return it at once)."""
    if answer is ...:
        return report(False, NOT_ATTEMPTED)
    arr = as_array(answer, (2, size))
    if arr is None:
        fields = {"names": ", ".join(names), "answer": answer}
        if size == 3:
            return report(False, tr("give two lists of three numbers, ({names}), got {answer!r}.", **fields))
        if size == 4:
            return report(False, tr("give two lists of four numbers, ({names}), got {answer!r}.", **fields))
        return report(False, tr("give two lists of {size} numbers, ({names}), got {answer!r}.", size=size, **fields))
    return arr[0], arr[1]


def close_pair(got, pair, atol) -> bool:
    """Both arrays of ``got`` within ``atol`` of those of ``pair``."""
    return np.allclose(got[0], pair[0], atol=atol) and np.allclose(got[1], pair[1], atol=atol)
