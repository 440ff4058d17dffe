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
from core.report import CompareSpec, ReportRequest, SurvivalSpec, build_report, build_sections
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


def _expected_table(df: pd.DataFrame, preset: str) -> pd.DataFrame:
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
