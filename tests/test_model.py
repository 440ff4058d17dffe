"""core.study.model: the paper's Cox model, read once from data/published.yaml."""

from __future__ import annotations

import math

import pytest
import yaml

from core.study.model import paper_model

# The paper (abstract and Results): HR 4.02 [1.10-14.65] disease progression vs the other
# reasons, 1.97 [1.14-3.41] per ECOG PS point, 1.16 [1.01-1.33] per SOFA point; 1-year mortality.
PAPER = {
    "reason_dp": (4.02, 1.10, 14.65),
    "ecog_ps": (1.97, 1.14, 3.41),
    "sofa": (1.16, 1.01, 1.33),
}


def test_the_shipped_model_is_the_papers():
    m = paper_model()
    assert m.covariates == tuple(PAPER)
    assert m.hrs == pytest.approx(PAPER)
    assert (m.duration, m.event, m.horizon_days) == ("os_days", "os_event", 365.0)
    assert (m.entry_p, m.removal_p) == (0.2, 0.1)  # stepwise: entry p < 0.2, removal p > 0.1
    for name, (hr, _, _) in PAPER.items():
        assert m.coef[name] == pytest.approx(math.log(hr), abs=1e-15)


def test_model_follows_the_yaml(tmp_path):
    doc = {
        "cox": {
            "source": "test",
            "duration": "t",
            "event": "e",
            "horizon_days": 180,
            "selection": {"entry": 0.1, "removal": 0.05},
            "terms": [
                {"name": "reason_dp", "label": "DP", "hr": 2.0, "lower": 1.0, "upper": 4.0},
                {"name": "sofa", "label": "SOFA", "hr": 1.1, "lower": 1.0, "upper": 1.2},
            ],
        }
    }
    path = tmp_path / "published.yaml"
    path.write_text(yaml.safe_dump(doc))
    m = paper_model(path)
    assert m.covariates == ("reason_dp", "sofa")
    assert m.hrs == {"reason_dp": (2.0, 1.0, 4.0), "sofa": (1.1, 1.0, 1.2)}
    assert (m.duration, m.event, m.horizon_days) == ("t", "e", 180.0)
    assert m.term("sofa").paper_label == "SOFA"
    table = m.table()
    assert table["covariate"].tolist() == ["reason_dp", "sofa"]
    assert table["coef"].tolist() == pytest.approx([math.log(2.0), math.log(1.1)])
    with pytest.raises(KeyError, match="ecog_ps"):
        m.term("ecog_ps")


def test_a_yaml_without_terms_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"cox": {"terms": []}}))
    with pytest.raises(ValueError, match="no terms"):
        paper_model(path)
