"""core.report: every cell and number of the report is the core functions' value; the methods
name exactly the tests that were run; a view that cannot run is named, the rest is built."""

from __future__ import annotations

import io
import os
import zipfile
from html.parser import HTMLParser

import pandas as pd
import pytest
from docx import Document

from core.paths import DATA_DIR
from core.report import (
    CompareSpec,
    CoxSpec,
    ReportRequest,
    SurvivalSpec,
    build_report,
    build_sections,
)
from core.stats.compare import compare_groups
from core.study.calculator import make_profile
from core.study.paper_tables import PRESETS
from core.tables.compare import format_table
from core.tables.compare import tests_used as used_tests


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    from core.cohort.variables import add_derived
    from tests.apptest import shipped_cohort

    return add_derived(shipped_cohort())


def _request(**kw) -> ReportRequest:
    base = dict(cohort_name="Reconstructed cohort", reconstructed=True, cox=False,
                survival=None, compare=CompareSpec("table3"))  # fmt: skip
    return ReportRequest(**{**base, **kw})


def _expected_table(df: pd.DataFrame, preset: str, by=None, specs=None) -> pd.DataFrame:
    if preset == "custom":
        result = compare_groups(df, by, specs, exclude_small_groups=True)
    else:
        p = PRESETS[preset]
        result = compare_groups(df, p.by, list(p.variables), group_order=p.group_order,
                                exclude_small_groups=True)  # fmt: skip
    table = format_table(result).drop(columns=["_kind"], errors="ignore")
    letter = {t: chr(97 + i) for i, t in enumerate(used_tests(result))}
    if "test" in table.columns:
        table["test"] = table["test"].map(lambda t: letter.get(t, "") if t else "")
    return table


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self.scripts = 0
        self.remote: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "script":
            self.scripts += 1
        for k, v in attrs:
            if k in ("src", "href") and v and not v.startswith(("#", "data:")):
                self.remote.append(v)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_docx_and_html_tables_equal_the_core_tables_cell_by_cell(cohort):
    expected = _expected_table(cohort, "table3")
    rows = [list(map(str, expected.columns))] + [
        ["" if pd.isna(v) else str(v) for v in r] for r in expected.itertuples(index=False)
    ]
    doc = Document(io.BytesIO(build_report(cohort, _request(), "docx")))
    got = [[c.text for c in r.cells] for r in doc.tables[0].rows]
    assert got == rows
    parser = _Tables()
    parser.feed(build_report(cohort, _request(), "html").decode("utf-8"))
    assert parser.tables[0][0] == rows[0] and parser.tables[0][1:] == rows[1:]
    assert parser.scripts == 0 and parser.remote == []  # self-contained


def test_methods_name_exactly_the_tests_that_ran(cohort):
    four = build_sections(cohort, _request(compare=CompareSpec("table3")))[0]
    two = build_sections(cohort, _request(compare=CompareSpec("table4")))[0]
    assert "Kruskal–Wallis" in four.methods[0] and "Wilcoxon" not in four.methods[0]
    assert "Wilcoxon" in two.methods[0] and "Kruskal" not in two.methods[0]
    assert "Fisher's exact test" in four.methods[0]
    adjusted = build_sections(cohort, _request(compare=CompareSpec("table3", "holm")))[0]
    assert "adjusted for multiple testing (holm)" in adjusted.methods[0]


def _rows(frame: pd.DataFrame) -> list[list[str]]:
    return [list(map(str, frame.columns))] + [
        ["" if pd.isna(v) else str(v) for v in r] for r in frame.itertuples(index=False)
    ]


def _methods_text(df: pd.DataFrame, req: ReportRequest) -> str:
    """The Methods paragraph as the .docx holds it (the paragraph after the heading)."""
    paras = Document(io.BytesIO(build_report(df, req, "docx"))).paragraphs
    i = next(k for k, p in enumerate(paras) if p.text == "Methods")
    return paras[i + 1].text


def _groups(df: pd.DataFrame, column: str, cut=None, merge=None):
    from core.cohort.schema import column_label, level_order
    from core.cohort.variables import make_groups

    return make_groups(df, column, cut, label=column_label(column, unit=False),
                       order=level_order(column), merge=merge)  # fmt: skip


def test_methods_name_the_trend_test_and_its_scores_only_for_ordered_groups(cohort):
    from core.stats.logrank import logrank_trend
    from core.tables.survival import format_chi2_test

    g = _groups(cohort, "ecog_ps")
    assert g.ordered  # the Survival page's rule (make_groups) gives the trend test here
    tr = logrank_trend(g.df, "os_days", "os_event", g.column)
    scores = ", ".join(f"{w:g}" for w in tr.table["score"])
    sec = build_sections(cohort, _request(compare=None, survival=SurvivalSpec("ecog_ps")))[0]
    assert f"log-rank test for trend with scores {scores}" in sec.methods[0]
    assert f"test for trend {format_chi2_test(tr.statistic, 1, tr.p_value)}" in sec.results[0]
    for spec in (SurvivalSpec("icu_reason"), SurvivalSpec("ecog_ps", cut=2), SurvivalSpec(None)):
        text = _methods_text(cohort, _request(compare=None, survival=spec))
        assert "trend" not in text, spec
    assert "trend" in _methods_text(cohort, _request(compare=None, survival=SurvivalSpec()))


def test_methods_name_stepwise_and_its_rule_only_when_the_cox_view_used_it(cohort):
    from core.stats.cox.selection import stepwise
    from core.study.model import STEPWISE_CANDIDATES, paper_model

    m = paper_model()
    req = _request(compare=None, cox=CoxSpec("stepwise", candidates=STEPWISE_CANDIDATES))
    text = _methods_text(cohort, req)
    assert "stepwise selection" in text
    assert f"entry p < {m.entry_p:g}, removal p > {m.removal_p:g}, Wald p-values" in text
    sw = stepwise(cohort, m.duration, m.event, list(STEPWISE_CANDIDATES),
                  horizon_days=m.horizon_days, entry=m.entry_p, removal=m.removal_p)  # fmt: skip
    doc = Document(io.BytesIO(build_report(cohort, req, "docx")))
    assert len(doc.tables[0].rows) == 1 + len(sw.selected)  # header + one row per term kept
    for spec in (True, CoxSpec("pick", covariates=("sofa", "age"))):
        assert "stepwise" not in _methods_text(cohort, _request(compare=None, cox=spec))


def test_methods_name_the_ph_test_with_its_result_only_with_the_cox_view(cohort):
    from core.stats.cox.diagnostics import ph_test
    from core.stats.cox.fit import fit_cox
    from core.tables.survival import format_chi2_test

    res = fit_cox(cohort, "os_days", "os_event", ["reason_dp", "ecog_ps", "sofa"],
                  horizon_days=365)  # fmt: skip
    row = ph_test(res).table.set_index("term").loc["GLOBAL"]
    text = _methods_text(cohort, _request(compare=None, cox=True))
    assert "Schoenfeld residuals (R cox.zph" in text
    assert f"global {format_chi2_test(row['chisq'], int(row['df']), row['p'])}" in text
    none = _methods_text(cohort, _request(survival=SurvivalSpec(), cox=False))
    assert "Schoenfeld" not in none and "cox.zph" not in none and "Cox" not in none


def test_methods_name_aalen_johansen_and_grays_test_only_when_run(cohort):
    from core.stats.competing import gray_tests
    from core.tables.survival import format_chi2_test

    def text(**kw):
        return _methods_text(cohort, _request(compare=None, survival=SurvivalSpec(**kw)))

    off = text(group="icu_reason")
    assert "Aalen" not in off and "Gray" not in off
    overall = text(group="icu_reason", competing=True)
    assert "Aalen–Johansen estimator" in overall and "Gray" not in overall
    by = text(group="icu_reason", competing=True, competing_by_group=True)
    assert "Aalen–Johansen estimator" in by and "Gray's test" in by
    g = _groups(cohort, "icu_reason")
    cr = g.df.dropna(subset=["os_days", "os_event", "pfs_days", "pfs_event"])
    spec = SurvivalSpec("icu_reason", competing=True, competing_by_group=True)
    sec = build_sections(cohort, _request(compare=None, survival=spec))[0]
    for t in gray_tests(cr, g.column):
        if t.statistic == t.statistic:
            assert format_chi2_test(t.statistic, t.dof, t.p_value) in sec.results[-1]


def test_a_custom_compare_table_has_exactly_the_chosen_variables(cohort):
    from core.cohort.variables import cut_variable
    from core.study.paper_tables import by_section, variable_catalog

    chosen = ("sofa", "age", "sex", "ferritin_ug_l")
    catalog = variable_catalog(cohort)
    specs = [catalog[c] for c in by_section(catalog) if c in chosen]  # the page's order
    assert {s.column for s in specs} == set(chosen)
    for spec, data, by in (
        (CompareSpec("custom", by="icu_reason", variables=chosen), cohort, "icu_reason"),
        (CompareSpec("custom", by=None, variables=chosen), cohort, None),
        (CompareSpec("custom", by="age", variables=chosen, cut=60),
         cut_variable(cohort, "age", 60), "age ≥ 60"),
    ):  # fmt: skip
        used = [s for s in specs if s.column != spec.by]
        expected = _rows(_expected_table(data, "custom", by, used))
        doc = Document(io.BytesIO(build_report(cohort, _request(compare=spec), "docx")))
        assert [[c.text for c in r.cells] for r in doc.tables[0].rows] == expected
        parser = _Tables()
        parser.feed(build_report(cohort, _request(compare=spec), "html").decode("utf-8"))
        assert parser.tables[0] == expected


def test_a_survival_cut_or_merge_gives_the_core_log_rank_and_medians(cohort):
    from core.stats.logrank import logrank
    from core.stats.survival import kaplan_meier
    from core.tables.format import p_value
    from core.tables.survival import format_medians

    for spec, g in (
        (SurvivalSpec("sofa", cut=4), _groups(cohort, "sofa", 4)),
        (SurvivalSpec("icu_reason", merge=("Disease progression",)),
         _groups(cohort, "icu_reason", merge=("Disease progression",))),
    ):  # fmt: skip
        assert len(g.levels) == 2
        lr = logrank(g.df, "os_days", "os_event", g.column)
        medians = format_medians(kaplan_meier(g.df, "os_days", "os_event", g.column), "months")
        req = _request(compare=None, survival=spec)
        sec = build_sections(cohort, req)[0]
        assert (
            f"log-rank χ² = {lr.statistic:.2f}, {lr.dof} df, p {p_value(lr.p_value)}"
            in (sec.results[0])
        )
        doc = Document(io.BytesIO(build_report(cohort, req, "docx")))
        assert [[c.text for c in r.cells] for r in doc.tables[0].rows] == _rows(medians)
    assert "(< 4 vs ≥ 4)" in build_sections(cohort, _request(
        compare=None, survival=SurvivalSpec("sofa", cut=4)))[0].title  # fmt: skip


def test_results_numbers_are_the_core_numbers(cohort):
    from core.stats.logrank import logrank
    from core.tables.format import p_value

    req = _request(compare=None, survival=SurvivalSpec("ecog_ps", "os", "months"), cox=True)
    sections = build_sections(cohort, req)
    lr = logrank(cohort, "os_days", "os_event", "ecog_ps")
    assert (
        f"log-rank χ² = {lr.statistic:.2f}, {lr.dof} df, p {p_value(lr.p_value)}"
        in (sections[0].results[0])
    )
    from core.stats.cox.fit import fit_cox

    res = fit_cox(cohort, "os_days", "os_event", ["reason_dp", "ecog_ps", "sofa"],
                  horizon_days=365)  # fmt: skip
    hr_sofa = res.summary.set_index("covariate").loc["sofa", "hr"]
    assert f"HR {hr_sofa:.2f}" in sections[1].results[0]


def test_a_view_that_cannot_run_is_named_and_the_rest_built(cohort):
    df = cohort.drop(columns=["pfs_days", "pfs_event"])
    req = _request(survival=SurvivalSpec(None, "pfs"), cox=True,
                   calculator=(make_profile(label="<b>A</b>", icu_reason="CRS", ecog_ps=1,
                                            sofa=4),))  # fmt: skip
    html_text = build_report(df, req, "html").decode("utf-8")
    assert (
        "This view could not be computed on the cohort: the cohort has no values for "
        "pfs_days" in html_text
    )
    assert "&lt;b&gt;A&lt;/b&gt;" in html_text and "<b>A</b>" not in html_text  # escaped
    doc = build_report(df, req, "docx")
    assert zipfile.ZipFile(io.BytesIO(doc)).testzip() is None
    texts = [p.text for p in Document(io.BytesIO(doc)).paragraphs]
    assert any("could not be computed" in t for t in texts)
    assert len(Document(io.BytesIO(doc)).tables) == 3  # compare, cox, calculator


def test_the_reconstruction_caveat_and_data_statement(cohort):
    doc = Document(io.BytesIO(build_report(cohort, _request(), "docx")))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "reconstructed from published aggregates — not patient data" in text
    up = Document(io.BytesIO(build_report(
        cohort, _request(reconstructed=False, cohort_name="my_icu.csv"), "docx"
    )))  # fmt: skip
    assert "Cohort: my_icu.csv, 71 patients" in "\n".join(p.text for p in up.paragraphs)


def test_docx_charts_have_alt_text(cohort):
    req = _request(compare=None, survival=SurvivalSpec("icu_reason", "os", "months"))
    doc = build_report(cohort, req, "docx")
    xml = zipfile.ZipFile(io.BytesIO(doc)).read("word/document.xml").decode("utf-8")
    assert 'descr="Kaplan–Meier curves of overall survival by' in xml
    assert DATA_DIR.exists()


def _soffice() -> str | None:
    import os
    import shutil

    found = shutil.which("soffice")
    if found is None and os.environ.get("CI") == "true":
        pytest.fail("LibreOffice (soffice) is missing; .ci/run installs libreoffice-writer-nogui")
    return found


@pytest.mark.slow
def test_the_docx_opens_in_libreoffice_and_renders(cohort, tmp_path):
    """soffice converts the .docx to PDF; pdftoppm renders its first page (saved under
    tests/screenshots/ to be looked at)."""
    import shutil
    import subprocess

    from tests.conftest import SCREENSHOTS

    soffice = _soffice()
    if soffice is None or shutil.which("pdftoppm") is None:
        if shutil.which("pdftoppm") is None and os.environ.get("CI") == "true":
            pytest.fail("pdftoppm is missing; .ci/run installs poppler-utils")
        pytest.skip("LibreOffice / poppler not installed (CI installs them)")
    req = _request(survival=SurvivalSpec("ecog_ps", "os", "months"), cox=True)
    path = tmp_path / "report.docx"
    path.write_bytes(build_report(cohort, req, "docx"))
    subprocess.run(
        [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
        check=True, capture_output=True, timeout=240,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    pdf = tmp_path / "report.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf),
         str(SCREENSHOTS / "report_page")],
        check=True, timeout=120,
    )  # fmt: skip
    assert list(SCREENSHOTS.glob("report_page-*.png"))


@pytest.mark.browser
def test_the_html_prints_to_pdf_in_chromium_without_any_request(cohort, browser):
    html_text = build_report(cohort, _request(survival=SurvivalSpec()), "html").decode()
    context = browser.new_context()
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.set_content(html_text)
    pdf = page.pdf(format="A4")
    context.close()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    assert [u for u in requests if not u.startswith(("data:", "about:"))] == []
