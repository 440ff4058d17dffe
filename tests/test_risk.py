"""core.study.risk and the calculator's risk section: icons, sentence and table agree; the
extrapolation warning appears exactly when the cohort holds too few similar patients."""

from __future__ import annotations

import re

import numpy as np
import pytest

from app_pages._ui.views.calculator import CALCULATOR
from core.study.calculator import build_model, make_profile, predict_profiles
from core.study.risk import (
    ALIVE,
    ALIVE_UNSURE,
    DEAD,
    DEAD_UNSURE,
    MIN_SUPPORT,
    AbsoluteRisk,
    absolute_risks,
    input_position,
    scope_card,
    similar_patients,
)
from tests.apptest import frame_with, run_page, shipped_cohort

PAGE = "app_pages/calculator.py"


def test_icons_split_at_the_estimate_and_mark_the_band():
    r = AbsoluteRisk("P", 365, 0.764, 0.676, 0.853)
    counts = r.icons()["state"].value_counts().to_dict()
    # by hand: alive 76, band 68-85 -> 68 sure alive, 8 uncertain alive, 9 uncertain dead, 15
    assert counts == {ALIVE: 68, ALIVE_UNSURE: 8, DEAD_UNSURE: 9, DEAD: 15}
    assert "about 76 are alive at day 365 and 24 have died; plausible range 68–85" in (r.sentence())
    assert r.sentence(extrapolated=True).endswith("no such patients in the cohort.")


def test_absolute_risks_are_the_prediction_table():
    model = build_model(shipped_cohort(), "published")
    profiles = [
        make_profile(label="A", icu_reason="CRS", ecog_ps=1, sofa=4),
        make_profile(label="B", icu_reason="Disease progression", ecog_ps=3, sofa=10),
    ]
    pred = predict_profiles(model, profiles, days=[30, 365])
    for r in absolute_risks(pred, 30):
        row = pred.table[(pred.table["profile"] == r.profile) & (pred.table["day"] == 30)].iloc[0]
        assert r.alive == round(100 * row["surv"])
        assert r.alive_range == (round(100 * row["lower"]), round(100 * row["upper"]))
        icons = r.icons()["state"]
        assert icons.isin([ALIVE, ALIVE_UNSURE]).sum() == r.alive
    with pytest.raises(ValueError, match="not among"):
        absolute_risks(pred, 90)


def test_the_page_sentence_equals_its_table_for_every_profile():
    at = run_page(PAGE, **CALCULATOR.link(n=4))
    table = frame_with(at, "Day 365")
    sentences = [m.value for m in at.markdown if "Of 100 patients like" in m.value]
    assert len(sentences) == 4
    for text in sentences:
        label = re.search(r"like (.+?), about", text.replace("\\", "")).group(1)
        alive = int(re.search(r"about (\d+) are alive", text).group(1))
        cell = table.loc[label, "Day 365"]  # "76.4% [63.0% – 91.0%]"
        surv = float(cell.split("%")[0]) / 100
        assert alive == int(np.rint(100 * surv)), (label, cell, text)


@pytest.mark.parametrize(
    "reason, ps, sofa",
    [("CRS", 1, 4), ("Disease progression", 3, 10), ("Disease progression", 1, 2),
     ("Sepsis", 4, 12), ("CRS or sepsis", 0, 0), ("Disease progression", 2, 8)],
)  # fmt: skip
def test_extrapolation_warning_exactly_when_few_similar_patients(reason, ps, sofa):
    cohort = shipped_cohort()
    k = similar_patients(make_profile(label="X", icu_reason=reason, ecog_ps=ps, sofa=sofa), cohort)
    at = run_page(PAGE, **CALCULATOR.link(n=1, label0="X", reason0=reason, ps0=ps, sofa0=sofa))
    warned = [w.value for w in at.warning if "extrapolated" in w.value]
    assert bool(warned) == (k < MIN_SUPPORT), (k, warned)
    if warned:
        assert f"n = {k} patient" in warned[0].replace("\\", "")
        sentence = next(m.value for m in at.markdown if "Of 100 patients like" in m.value)
        assert "extrapolated" in sentence


def test_input_position_and_scope_card():
    s = shipped_cohort()["sofa"]
    q1 = float(np.percentile(s, 25))
    assert input_position(q1, s).startswith("inside the cohort's IQR")
    assert input_position(float(s.max()) + 1, s).startswith("outside the cohort's range")
    card = scope_card(shipped_cohort(), 365).set_index("Item")["Value"]
    assert "n = 71 patients, 26 deaths within one year" in card["Derivation"]
    assert card["Observed in the active cohort: Disease progression"].startswith("n = 4;")


def test_factor_intervals_by_hand_in_published_mode():
    """Disease progression vs CRS, PS 3 vs 1: factors 4.02^1 and 1.97^2; each interval is
    factor x exp(+-1.96 |d| se), se from the published CI: (log hi - log lo) / 3.92."""
    import math

    from core.study.model import paper_model
    from core.study.risk import factor_table

    model = build_model(shipped_cohort(), "published")
    ref = make_profile(label="Ref", icu_reason="CRS", ecog_ps=1, sofa=4)
    p = make_profile(label="P", icu_reason="Disease progression", ecog_ps=3, sofa=4)
    f = factor_table(p, ref, model).set_index("label")
    assert len(f) == 2  # SOFA equal: no factor
    z = 1.959963984540054
    for t, d in ((paper_model().term("reason_dp"), 1), (paper_model().term("ecog_ps"), 2)):
        se = (math.log(t.upper) - math.log(t.lower)) / (2 * z)
        row = f.loc[t.label]
        assert row["factor"] == pytest.approx(t.hr**d, rel=1e-12)
        assert row["lower"] == pytest.approx(t.hr**d * math.exp(-z * d * se), rel=1e-12)
        assert row["upper"] == pytest.approx(t.hr**d * math.exp(z * d * se), rel=1e-12)


def test_input_place_by_construction():
    """0..8: numpy's (R type 7) quartiles are 2 and 6, the range 0-8."""
    import pandas as pd

    from core.study.risk import IQR, OUTSIDE, RANGE, UNSEEN, input_place

    s = pd.Series(range(9))
    assert [input_place(v, s).band for v in (2, 4, 6, 1, 7, 0, 8, 9, -1)] == [
        IQR, IQR, IQR, RANGE, RANGE, RANGE, RANGE, OUTSIDE, OUTSIDE,
    ]  # fmt: skip
    assert (input_place(4, s).q1, input_place(4, s).q3) == (2.0, 6.0)
    assert input_place(1, pd.Series([], dtype=float)).band == UNSEEN


@pytest.mark.parametrize("ps, sofa", [(1, 4), (0, 9), (4, 20), (3, 0)])
def test_every_numeric_input_has_a_badge_with_icon_word_and_colour(ps, sofa):
    """One badge per numeric input, its word and colour from input_place on the cohort."""
    from core.study.risk import PLACE_WORDS, input_place

    cohort = shipped_cohort()
    colours = {"iqr": "green", "range": "orange", "outside": "red"}
    at = run_page(PAGE, **CALCULATOR.link(n=1, ps0=ps, sofa0=sofa))
    badges = [m.value for m in at.markdown if "-badge[:material/" in m.value]
    assert len(badges) == 2, badges
    for badge, (col, value) in zip(badges, (("ecog_ps", ps), ("sofa", sofa)), strict=True):
        band = input_place(value, cohort[col]).band
        assert badge.startswith(f":{colours[band]}-badge[:material/"), badge
        assert PLACE_WORDS[band] in badge, badge


@pytest.mark.parametrize("mode", ["published", "refit"])
def test_model_card_shows_the_c_index_and_ci_of_the_core(mode):
    """C and its 95% CI from core.stats.cox.concordance on the model's linear predictor (R
    parity of these functions: tests/test_cox_*), on the scope card and under the curves."""
    from core.stats.cox.concordance import concordance_index, concordance_se

    cox = build_model(shipped_cohort(), mode).result.model
    lp = cox.linear_predictor()
    c = concordance_index(cox.time, cox.status, lp)
    se = concordance_se(cox.time, cox.status, lp)
    lo, hi = max(0.0, c - 1.959963984540054 * se), min(1.0, c + 1.959963984540054 * se)
    expected = f"Harrell's C {c:.3f} (95% CI {lo:.3f}–{hi:.3f})"
    at = run_page(PAGE, **CALCULATOR.link(mode=mode))
    card = frame_with(at, "Item").set_index("Item")["Value"]
    assert expected in card["Discrimination"]
    assert ("Published coefficients" if mode == "published" else "Model refitted") in (
        card["Discrimination"]
    )
    assert any(expected in cap.value.replace("\\", "") for cap in at.caption)


def test_icon_array_does_not_rely_on_colour_alone():
    """Alive / died by shape, inside / outside the band by fill, all four named in a legend;
    the 10 x 10 plot keeps its size (autosize pad: title and legend around it)."""
    from core.charts.risk import icon_array

    spec = icon_array(AbsoluteRisk("P", 365, 0.764, 0.676, 0.853).icons(), "P").to_dict()
    enc = spec["encoding"]

    def scale(channel: str) -> dict:
        s = enc[channel]["scale"]
        return dict(zip(s["domain"], s["range"], strict=True))

    shapes, fills, strokes = scale("shape"), scale("fill"), scale("color")
    assert shapes[ALIVE] == shapes[ALIVE_UNSURE] != shapes[DEAD] == shapes[DEAD_UNSURE]
    for state in (ALIVE, DEAD):  # filled: fill = outline; within the band: open (white)
        assert fills[state] == strokes[state]
    assert fills[ALIVE_UNSURE] == fills[DEAD_UNSURE] == "#ffffff"
    assert all(enc[ch].get("legend") is not None for ch in ("shape", "fill", "color"))
    assert spec["autosize"]["type"] == "pad"
