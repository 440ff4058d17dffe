"""Writers of the report: Word with python-docx, HTML as one file (inline CSS and SVG, no
script, nothing fetched). User text (cohort name, labels) is escaped in HTML."""

from __future__ import annotations

import html
import io

import pandas as pd

from core.report.build import ReportRequest, Section, data_statement, software_versions

TITLE = "CAR-T cell recipients in the ICU — analysis report"
CAVEAT = (
    "The reconstructed cohort reproduces the paper's published aggregates; it is not patient "
    "data, and any individual-level result on it illustrates the method, not the study."
)


def _methods(sections: list[Section]) -> list[str]:
    out = [m for s in sections for m in s.methods]
    out.append(f"Analyses were run with {software_versions()}; the statistics match R's.")
    return out


def _results(sections: list[Section]) -> list[str]:
    return [r for s in sections for r in s.results]


# --------------------------------------------------------------------------------------
# Word
# --------------------------------------------------------------------------------------
def to_docx(request: ReportRequest, sections: list[Section], n: int) -> bytes:
    from docx import Document
    from docx.shared import Inches, Pt

    from core.charts.cox import chart_png

    doc = Document()
    doc.styles["Normal"].font.name = "Calibri"
    doc.styles["Normal"].font.size = Pt(10)
    doc.add_heading(TITLE, level=0)
    doc.add_paragraph(data_statement(request, n))
    doc.add_paragraph(f"Filter: {request.filter_text}. Date: {request.date}.")
    if request.reconstructed:
        doc.add_paragraph(CAVEAT)
    doc.add_heading("Methods", level=1)
    doc.add_paragraph(" ".join(_methods(sections)))
    doc.add_heading("Results", level=1)
    doc.add_paragraph(" ".join(_results(sections)) or "No view could be computed.")
    for sec in sections:
        doc.add_heading(sec.title, level=1)
        if sec.error:
            doc.add_paragraph(f"This view could not be computed on the cohort: {sec.error}.")
            continue
        for caption, frame, notes in sec.tables:
            doc.add_paragraph(caption, style="Caption")
            _docx_table(doc, frame)
            for note in notes:
                doc.add_paragraph(note).runs[0].font.size = Pt(8)
        for caption, alt, spec in sec.figures:
            doc.add_picture(io.BytesIO(chart_png(spec, scale=2.0)), width=Inches(6))
            pic = doc.inline_shapes[-1]._inline.docPr
            pic.set("descr", alt)  # alt text of the picture
            pic.set("title", caption)
            doc.add_paragraph(caption, style="Caption")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _docx_table(doc, frame: pd.DataFrame) -> None:
    from docx.shared import Inches, Pt

    t = doc.add_table(rows=1, cols=len(frame.columns))
    t.style = "Light Grid Accent 1"
    t.autofit = False
    # the label column takes what a 6.5-inch page width leaves after narrower number columns
    k = len(frame.columns)
    first = Inches(2.2 if k > 3 else 3.0)
    rest = Inches((6.5 - (2.2 if k > 3 else 3.0)) / max(1, k - 1))
    widths = [first] + [rest] * (k - 1)
    for column, width in zip(t.columns, widths, strict=True):
        column.width = width  # the grid LibreOffice and Word lay out from
    rows = [list(map(str, frame.columns))] + [
        ["" if pd.isna(v) else str(v) for v in r] for r in frame.itertuples(index=False)
    ]
    for i, values in enumerate(rows):
        cells = t.rows[0].cells if i == 0 else t.add_row().cells
        for cell, value, width in zip(cells, values, widths, strict=True):
            cell.text = value
            cell.width = width
            for par in cell.paragraphs:
                for run in par.runs:
                    run.font.size = Pt(8)


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------
CSS = """
@page { size: A4; margin: 18mm; }
body { font-family: Calibri, 'Segoe UI', Arial, sans-serif; font-size: 10.5pt; color: #111;
       max-width: 180mm; margin: auto; }
h1 { font-size: 18pt; } h2 { font-size: 13pt; margin-top: 1.4em; break-after: avoid; }
table { border-collapse: collapse; margin: 0.4em 0; font-size: 9pt; break-inside: avoid; }
th, td { border: 1px solid #999; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eee; } caption { caption-side: top; text-align: left; font-weight: bold; }
.note { font-size: 8.5pt; color: #333; margin: 0.1em 0; }
figure { margin: 0.6em 0; break-inside: avoid; } figcaption { font-size: 9pt; }
figure svg { max-width: 100%; height: auto; }
"""


def to_html(request: ReportRequest, sections: list[Section], n: int) -> str:
    from core.charts.cox import chart_svg

    e = html.escape
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(TITLE)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(TITLE)}</h1>",
        f"<p>{e(data_statement(request, n))}</p>",
        f"<p>Filter: {e(request.filter_text)}. Date: {e(request.date)}.</p>",
    ]
    if request.reconstructed:
        out.append(f"<p>{e(CAVEAT)}</p>")
    out.append(f"<h2>Methods</h2><p>{e(' '.join(_methods(sections)))}</p>")
    results = " ".join(_results(sections)) or "No view could be computed."
    out.append(f"<h2>Results</h2><p>{e(results)}</p>")
    for sec in sections:
        out.append(f"<h2>{e(sec.title)}</h2>")
        if sec.error:
            out.append(f"<p>This view could not be computed on the cohort: {e(sec.error)}.</p>")
            continue
        for caption, frame, notes in sec.tables:
            out.append(_html_table(caption, frame))
            out += [f"<p class='note'>{e(note)}</p>" for note in notes]
        for caption, alt, spec in sec.figures:
            svg = chart_svg(spec).decode("utf-8")
            svg = svg.replace("<svg ", f"<svg role='img' aria-label='{e(alt, quote=True)}' ", 1)
            out.append(f"<figure>{svg}<figcaption>{e(caption)}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out)


def _html_table(caption: str, frame: pd.DataFrame) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{e('' if pd.isna(v) else str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><caption>{e(caption)}</caption><tr>{head}</tr>{body}</table>"
