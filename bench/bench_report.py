"""Benchmark: the report of the 71-patient cohort with every view (issue #16: goal < 5 s).

Run from the repository root::

    python -m bench.bench_report          # or: python bench/bench_report.py [repeats]

Two pairs, run interleaved (reference, report, reference, report, ...) after one warm-up
report of each format, best of ``REPEATS`` (>= 3):

* reference: the same tables and figures without a document (``build_sections``: the core
  calls of every view, and each chart rendered by vl-convert, PNG for Word, SVG for HTML);
* report: ``build_report(..., fmt="docx" | "html")``, the complete file.

Prints the seconds and the ratio report / reference (the cost of writing the document).  No
timing is asserted anywhere.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.charts.cox import chart_png, chart_svg
from core.report import CompareSpec, CoxSpec, ReportRequest, SurvivalSpec, build_report
from core.report.build import build_sections
from core.study.calculator import make_profile

REPEATS = 3


def cohort() -> pd.DataFrame:
    from core.cohort import db
    from core.cohort.variables import add_derived

    con = db.connect()  # the active cohort by default: the shipped one, no filter
    try:
        return add_derived(db.fetch_cohort(con))
    finally:
        con.close()


def request() -> ReportRequest:
    """Every view: Table 3, KM by ECOG PS (trend test) with competing risks by group, the
    paper's Cox model with its PH test, two calculator profiles, validation at day 365."""
    return ReportRequest(
        cohort_name="Reconstructed cohort",
        reconstructed=True,
        compare=CompareSpec("table3"),
        survival=SurvivalSpec("ecog_ps", "os", "months", competing=True, competing_by_group=True),
        cox=CoxSpec(),
        calculator=(
            make_profile(label="A", icu_reason="CRS", ecog_ps=1, sofa=3),
            make_profile(label="B", icu_reason="Disease progression", ecog_ps=2, sofa=6),
        ),
        validation_horizon=365.0,
    )


def reference(df: pd.DataFrame, req: ReportRequest, fmt: str) -> None:
    """The report's tables and figures, computed and rendered, with no document around them."""
    render = chart_png if fmt == "docx" else chart_svg
    for sec in build_sections(df, req):
        for _, _, spec in sec.figures:
            render(spec)


def main(repeats: int = REPEATS) -> pd.DataFrame:
    df, req = cohort(), request()
    jobs = {}
    for fmt in ("docx", "html"):
        jobs[(fmt, "reference")] = lambda fmt=fmt: reference(df, req, fmt)
        jobs[(fmt, "report")] = lambda fmt=fmt: build_report(df, req, fmt)
    for fmt in ("docx", "html"):  # warm-up: imports, vl-convert (PNG, SVG), the FEXACT worker
        jobs[(fmt, "report")]()
    best = dict.fromkeys(jobs, float("inf"))
    for _ in range(max(3, repeats)):
        for key, job in jobs.items():  # interleaved
            t0 = time.perf_counter()
            job()
            best[key] = min(best[key], time.perf_counter() - t0)
    rows = [
        (
            fmt,
            best[(fmt, "reference")],
            best[(fmt, "report")],
            best[(fmt, "report")] / best[(fmt, "reference")],
        )
        for fmt in ("docx", "html")
    ]
    table = pd.DataFrame(
        rows, columns=["format", "tables + figures (s)", "full report (s)", "ratio"]
    )
    print(
        f"Report of {len(df)} patients, every view (Table 3, KM by ECOG PS with competing "
        f"risks, Cox + PH test, 2 profiles, validation); best of {max(3, repeats)}, interleaved"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return table


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else REPEATS)
