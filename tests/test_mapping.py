"""Tests for core.cohort.mapping: suggested column and unit mappings, event codings.

Expected values are hand calculations or R (survival::Surv status coding, via
tests/r_oracle.py).
"""

from __future__ import annotations

import pandas as pd
import pytest

from core.cohort.ingest import build_cohort, read_cohort
from core.cohort.mapping import (
    apply_event_coding,
    detect_event_coding,
    suggest_mapping,
    suggest_units,
)
from core.cohort.read import IngestError, read_table
from tests.r_oracle import run_r

# ------------------------------------------------------------------ event coding


@pytest.mark.parametrize(
    ("event", "censored", "coding"),
    [
        ("1", "0", "0/1"),
        ("1.0", "0.0", "0/1"),
        ("2", "1", "1/2"),
        ("TRUE", "FALSE", "true/false"),
        ("yes", "no", "yes/no"),
        ("Oui", "Non", "yes/no"),
        ("dead", "alive", "dead/alive"),
        ("Décédé", "Vivant", "dead/alive"),
        ("DECEDEE", "vivante", "dead/alive"),
    ],
)
def test_event_codings(event, censored, coding):
    data = f"time,status\n10,{event}\n20,{censored}\n30,{event}\n".encode()
    t = read_table(data, "e.csv")
    assert detect_event_coding(t.df["status"]).name == coding
    rep = build_cohort(t)
    assert rep.event_coding.name == coding
    assert rep.accepted["os_event"].tolist() == [1, 0, 1]


def test_r_surv_status_agrees_for_codings_r_accepts():
    """survival::Surv(time, status) turns 0/1, TRUE/FALSE and 1/2 into status 1 = event."""
    d = pd.DataFrame(
        {
            "time": [10, 20, 30, 40],
            "s01": [1, 0, 1, 0],
            "s12": [2, 1, 2, 1],
            "stf": ["TRUE", "FALSE", "TRUE", "FALSE"],
        }
    )
    r = run_r(
        'd <- read.csv(Sys.getenv("ORACLE_IN"))\n'
        "res <- data.frame("
        "s01 = Surv(d$time, d$s01)[, 'status'], "
        "s12 = Surv(d$time, d$s12)[, 'status'], "
        "stf = Surv(d$time, as.logical(d$stf))[, 'status'])\n"
        'write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)\n',
        d,
    )
    for col in ("s01", "s12", "stf"):
        ours, bad = apply_event_coding(d[col], detect_event_coding(d[col]))
        assert not bad.any()
        assert ours.tolist() == r[col].astype(int).tolist()


def test_event_coding_ambiguous_or_unknown():
    with pytest.raises(IngestError, match="every value is 1"):
        detect_event_coding(pd.Series(["1", "1"]))
    with pytest.raises(IngestError, match="0, 1 and 2"):
        detect_event_coding(pd.Series([0, 1, 2]))
    with pytest.raises(IngestError, match="not recognised"):
        detect_event_coding(pd.Series(["maybe", "perhaps"]))
    with pytest.raises(IngestError, match="no values"):
        detect_event_coding(pd.Series(["", None]))
    # all-1 column once the user states the coding
    rep = read_cohort(b"time,status\n1,1\n2,1\n", "a.csv", event_coding="0/1")
    assert rep.accepted["os_event"].tolist() == [1, 1]
    rep = read_cohort(b"time,status\n1,1\n2,1\n", "a.csv", event_coding="1/2")
    assert rep.accepted["os_event"].tolist() == [0, 0]
    with pytest.raises(IngestError, match="unknown event coding"):
        read_cohort(b"time,status\n1,1\n", "a.csv", event_coding="sometimes")


# ------------------------------------------------------------------ mapping


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("Age (years)", "age"),
        ("AGE", "age"),
        ("âge", "age"),
        (" Age ", "age"),
        ("time", "os_days"),
        ("survival_days", "os_days"),
        ("Survival (days)", "os_days"),
        ("OS_months", "os_days"),
        ("status", "os_event"),
        ("death", "os_event"),
        ("dead", "os_event"),
        ("Décès", "os_event"),
        ("PS", "ecog_ps"),
        ("ECOG", "ecog_ps"),
        ("SOFA score", "sofa"),
        ("Sexe", "sex"),
        ("Reason for ICU admission", "icu_reason"),
        ("ICU admission date", "os_start_date"),
        ("Date of death", "os_end_date"),
    ],
)
def test_suggest_mapping_synonyms(header, target):
    assert suggest_mapping([header, "unrelated"]) == {target: header}


def test_suggest_mapping_uses_each_column_once_and_prefers_exact_names():
    cols = ["time", "os_days", "status", "icu_death", "death"]
    m = suggest_mapping(cols)
    assert m["os_days"] == "os_days" and m["icu_death"] == "icu_death"
    assert m["os_event"] == "status"
    assert len(set(m.values())) == len(m)
    assert suggest_units({"os_days": "OS (months)", "pfs_days": "pfs"}) == {
        "os_days": "months",
        "pfs_days": "days",
    }
    assert set(suggest_mapping(["age", "time", "status"], mode="generic")) == {
        "os_days",
        "os_event",
    }
