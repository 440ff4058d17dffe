"""core.cohort.sofa: every threshold of Vincent et al. 1996 (Table 1), by hand."""

from __future__ import annotations

import pytest

from core.cohort.sofa import SofaError, compute_sofa


def score(system: str, **values) -> int:
    return compute_sofa(**values).as_dict()[system]


# PaO2/FiO2 = pao2 / fio2; fio2 = 1.0 makes the ratio equal to PaO2
@pytest.mark.parametrize(
    ("pao2", "support", "expected"),
    [
        (400, False, 0),
        (399.9, False, 1),
        (300, False, 1),
        (299.9, False, 2),
        (200, True, 2),
        (199.9, True, 3),
        (199.9, False, 2),  # < 200 without respiratory support is capped at 2
        (100, True, 3),
        (99.9, True, 4),
        (60, False, 2),
    ],
)
def test_respiration(pao2, support, expected):
    assert score("respiration", pao2_mmhg=pao2, fio2=1.0, respiratory_support=support) == expected


def test_respiration_ratio_uses_fio2():
    # 80 mmHg on FiO2 0.4 -> ratio 200 -> 2 points; 79 -> 197.5 -> 3 with support
    assert score("respiration", pao2_mmhg=80, fio2=0.4, respiratory_support=True) == 2
    assert score("respiration", pao2_mmhg=79, fio2=0.4, respiratory_support=True) == 3


@pytest.mark.parametrize(
    ("plt", "expected"),
    [(150, 0), (149.9, 1), (100, 1), (99.9, 2), (50, 2), (49.9, 3), (20, 3), (19.9, 4), (0, 4)],
)
def test_coagulation(plt, expected):
    assert score("coagulation", platelets_g_l=plt) == expected


@pytest.mark.parametrize(
    ("bili", "expected"),
    [
        (19.9, 0),
        (20, 1),
        (32, 1),
        (32.9, 1),
        (33, 2),
        (101, 2),
        (102, 3),
        (204, 3),
        (204.1, 4),
        (300, 4),
    ],
)
def test_liver(bili, expected):
    assert score("liver", bilirubin_umol_l=bili) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"map_mmhg": 70}, 0),
        ({"map_mmhg": 69.9}, 1),
        ({"map_mmhg": 80, "dopamine": 5}, 2),
        ({"map_mmhg": 80, "dobutamine": 0.5}, 2),
        ({"map_mmhg": 80, "dopamine": 5.1}, 3),
        ({"map_mmhg": 80, "epinephrine": 0.1}, 3),
        ({"map_mmhg": 80, "norepinephrine": 0.1}, 3),
        ({"map_mmhg": 80, "dopamine": 15}, 3),
        ({"map_mmhg": 80, "dopamine": 15.1}, 4),
        ({"map_mmhg": 80, "epinephrine": 0.11}, 4),
        ({"map_mmhg": 80, "norepinephrine": 0.11}, 4),
        ({"dobutamine": 5, "norepinephrine": 0.05}, 3),  # the worst criterion counts
    ],
)
def test_cardiovascular(values, expected):
    assert score("cardiovascular", **values) == expected


@pytest.mark.parametrize(
    ("gcs", "expected"),
    [(15, 0), (14, 1), (13, 1), (12, 2), (10, 2), (9, 3), (6, 3), (5, 4), (3, 4)],
)
def test_cns(gcs, expected):
    assert score("cns", gcs=gcs) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"creatinine_umol_l": 109.9}, 0),
        ({"creatinine_umol_l": 110}, 1),
        ({"creatinine_umol_l": 170}, 1),
        ({"creatinine_umol_l": 171}, 2),
        ({"creatinine_umol_l": 299}, 2),
        ({"creatinine_umol_l": 300}, 3),
        ({"creatinine_umol_l": 440}, 3),
        ({"creatinine_umol_l": 440.1}, 4),
        ({"urine_ml_day": 500}, 0),
        ({"urine_ml_day": 499}, 3),
        ({"urine_ml_day": 200}, 3),
        ({"urine_ml_day": 199}, 4),
        ({"creatinine_umol_l": 120, "urine_ml_day": 150}, 4),  # the worse of the two
        ({"creatinine_umol_l": 450, "urine_ml_day": 1500}, 4),
    ],
)
def test_renal(values, expected):
    assert score("renal", **values) == expected


def test_total_and_missing_systems():
    r = compute_sofa(
        pao2_mmhg=150,
        fio2=1.0,
        respiratory_support=True,  # 3
        platelets_g_l=45,  # 3
        bilirubin_umol_l=40,  # 2
        map_mmhg=65,  # 1
        gcs=14,  # 1
        creatinine_umol_l=180,  # 2
    )
    assert r.as_dict() == {
        "respiration": 3,
        "coagulation": 3,
        "liver": 2,
        "cardiovascular": 1,
        "cns": 1,
        "renal": 2,
        "total": 12,
    }
    assert r.not_assessed == ()
    empty = compute_sofa()
    assert empty.total == 0
    assert set(empty.not_assessed) == {
        "respiration",
        "coagulation",
        "liver",
        "cardiovascular",
        "cns",
        "renal",
    }


def test_maximum_is_24():
    r = compute_sofa(
        pao2_mmhg=50,
        fio2=1.0,
        respiratory_support=True,
        platelets_g_l=5,
        bilirubin_umol_l=400,
        norepinephrine=0.5,
        gcs=3,
        creatinine_umol_l=600,
    )
    assert r.total == 24


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"gcs": 2}, "Glasgow coma scale [gcs]"),
        ({"gcs": 16}, "Glasgow coma scale [gcs]"),
        ({"fio2": 0.1}, "FiO2 [fio2]"),
        ({"platelets_g_l": -1}, "Platelets [platelets_g_l]"),
        ({"lactate": 2}, "is not a SOFA input"),
    ],
)
def test_invalid_inputs(values, needle):
    with pytest.raises(SofaError) as exc:
        compute_sofa(**values)
    assert needle in str(exc.value)
