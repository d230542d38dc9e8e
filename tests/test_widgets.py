"""The explorers driven from Python: move a slider, check that what is plotted changed as it should."""

import numpy as np

from rlteach.advantage import td_errors
from rlteach.mdp import ChainMDP
from rlteach.widgets import AdvantageExplorer


def test_advantage_explorer_redraws_on_slider_change():
    ex = AdvantageExplorer(gamma=0.9, lam=0.9)
    before = ex.lines["gae"].get_ydata().copy()
    png_before = ex.image.value
    ex.lam.value = 0.0
    assert bytes(ex.image.value).startswith(b"\x89PNG") and bytes(ex.image.value) != bytes(png_before)
    after = ex.lines["gae"].get_ydata()
    assert not np.allclose(before, after)
    # lam = 0 draws the TD errors of the rollout under the critic: exact V (gamma 0.9) plus 0.3
    mdp = ChainMDP(gamma=0.9)
    V = mdp.values(mdp.policy(0.6))
    V[: mdp.length] += 0.3
    ro = ex.rollout
    expected = td_errors(ro["rewards"], V[ro["states"]], V[ro["next_states"]], ro["terminated"], 0.9)
    np.testing.assert_allclose(after, expected)
    np.testing.assert_allclose(after, ex.lines["td"].get_ydata())


def test_gamma_slider_changes_values_and_title():
    ex = AdvantageExplorer(gamma=0.9)
    values_before = ex.data["values"].copy()
    ex.gamma.value = 0.5
    assert not np.allclose(values_before, ex.data["values"])
    assert "gamma=0.50" in ex.ax.get_title()
    assert "lam=0.90" in ex.lines["gae"].get_label()
