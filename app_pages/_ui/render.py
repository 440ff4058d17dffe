"""Drawing results: cached Vega-Lite charts, CSV and image downloads."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from app_pages._ui.active import STAMP_KEY
from app_pages._ui.keys import content_key
from core.export import neutralise_formulas


# ---------------------------------------------------------------------------------------------
# charts
# ---------------------------------------------------------------------------------------------
def chart_spec(build, *args, **kwargs) -> dict | list[dict]:
    """Vega-Lite dict of ``build(*args, **kwargs)``: built and validated by Altair once, cached.

    ``st.altair_chart`` rebuilds the Altair objects and re-validates the whole spec against the
    Vega-Lite JSON schema on every rerun (0.3-1 s for the Kaplan-Meier figure with its
    at-risk table). Here the finished dict is cached on its inputs, so a rerun that does not
    change the chart (another widget, the same value again) costs only the key. ``build`` is
    a function of ``core.charts``: its qualified name and the arguments (data frames, result
    objects, options) form the cache key. A builder that returns a list of charts (small
    multiples) gives a list of dicts. What is cached is the plain JSON-like dict, never the
    Altair chart object (mutable, and rebuilt by Streamlit on every call).

    The key is a BLAKE2 digest of the arguments' content (:func:`content_key`). Streamlit's own
    argument hashing took ~3 ms per data frame (pandas' row hashing) and was 6% of the
    server's time under 30 sessions (py-spy).
    """
    name = f"{build.__module__}.{build.__qualname__}"
    return _spec_by_key(content_key(name, args, kwargs), build, args, kwargs)


@st.cache_data(show_spinner=False, max_entries=128)
def _spec_by_key(key: str, _build, _args: tuple, _kwargs: dict) -> dict | list[dict]:
    built = _build(*_args, **_kwargs)
    return [c.to_dict() for c in built] if isinstance(built, list) else built.to_dict()


_ARROW: dict[str, bytes] = {}  # Altair dataset name (a hash of its values) -> Arrow IPC bytes


def _arrow_datasets(spec: dict) -> dict:
    """The spec with its named datasets already in Arrow bytes, converted once per dataset.

    Streamlit converts every dataset of a Vega-Lite spec to Arrow on every call (~20 ms per
    Kaplan-Meier figure) unless it is bytes already. Altair names a dataset by the SHA-256 of
    its values, so the bytes can be kept by name. The spec itself stays plain JSON for the
    PNG/SVG exports (vl-convert cannot read Arrow).
    """
    datasets = spec.get("datasets")
    if not isinstance(datasets, dict):
        return spec
    try:
        from streamlit.dataframe_util import convert_anything_to_arrow_bytes
    except ImportError:  # pragma: no cover - Streamlit internals moved: let it convert
        return spec
    if len(_ARROW) > 512:
        _ARROW.clear()
    converted = {}
    for name, values in datasets.items():
        if isinstance(values, list) and str(name).startswith("data-"):
            data = _ARROW.get(name)  # (sessions share the dict: no check-then-read)
            if data is None:
                data = _ARROW[name] = convert_anything_to_arrow_bytes(values)
            converted[name] = data
        else:
            converted[name] = values
    return {**spec, "datasets": converted}


def show_chart(spec: dict, *, width: str | int = "stretch", alt: str | None = None) -> None:
    """Draw a cached Vega-Lite spec (Altair's theme is in the spec already: theme=None)."""
    st.vega_lite_chart(spec=_arrow_datasets(spec), width=width, theme=None, alt=alt)


def static_table(frame: pd.DataFrame) -> None:
    """``st.table(frame, hide_index=True)``, its message made once per content and replayed.

    Streamlit converts a table to Arrow on every run (with the Styler, 14% of the server's
    time under 30 sessions, py-spy). A cached function's elements are stored with its result
    and replayed on a hit (Streamlit's element replay), so a table whose content did not change
    is sent again without conversion; the key is the frame's content.
    """
    _replayed_table(content_key(frame), frame)


@st.cache_data(show_spinner=False, max_entries=256)
def _replayed_table(key: str, _frame: pd.DataFrame) -> None:
    st.table(_frame, hide_index=True)


def csv_download(
    label: str, frame: pd.DataFrame, file_name: str, *, key: str | None = None, where=st
) -> None:
    """Download button of ``frame`` as CSV, spreadsheet formulas neutralised (core.cohort.ingest).

    ``where`` is the container (a column) that holds the button; no rerun on click. The CSV
    is written only when the button is clicked (a deferred download): before, every run wrote
    every table's CSV and Streamlit kept the text in its media store (1.6% of the server's
    time under 30 sessions, py-spy). The stamp is this run's, as the table on the screen.
    """
    stamp = st.session_state.get(STAMP_KEY)  # cohort, filter, date
    head = f"# {stamp}\n" if stamp else ""  # read.csv(comment.char = "#") / pandas comment="#"
    where.download_button(
        label,
        lambda: head + neutralise_formulas(frame).to_csv(index=False),
        file_name,
        "text/csv",
        key=key,
        on_click="ignore",
    )


def _stamped(spec: dict, stamp: str | None) -> dict:
    """The chart with the export stamp as its subtitle (the cohort, filter and date)."""
    if not stamp:
        return spec
    title = spec.get("title", "")
    if isinstance(title, dict):
        return {**spec, "title": {**title, "subtitle": stamp}}
    return {**spec, "title": {"text": title or "", "subtitle": stamp}}


_IMAGE_MIME = {"png": "image/png", "svg": "image/svg+xml"}


def chart_download(label: str, spec, file_name: str, *, key: str | None = None, where=st) -> None:
    """Download button of a Vega-Lite spec as a PNG (scale 2) or SVG, after ``file_name``.

    ``spec`` is the dict, or a function that returns it (the spec is then built on click too).
    The image is made only when the button is clicked (vl-convert, no browser); no rerun on
    click, so the deferred file is served at once.
    """
    fmt = file_name.rsplit(".", 1)[-1].lower()
    if fmt not in _IMAGE_MIME:
        raise ValueError(f"chart downloads are .png or .svg, not {file_name!r}")
    from core.charts.cox import chart_png, chart_svg  # Altair loaded only by chart pages

    render = chart_png if fmt == "png" else chart_svg
    where.download_button(
        label,
        lambda: render(
            _stamped(spec() if callable(spec) else spec, st.session_state.get(STAMP_KEY))
        ),
        file_name,
        _IMAGE_MIME[fmt],
        key=key,
        on_click="ignore",
    )


def post_admission_warning(labels: list[str], what: str) -> None:
    """Warn that variables measured after ICU admission (time zero) invite immortal-time bias.

    ``what`` says what is done with them ("comparing survival by it", "a Cox model from
    admission"); the glossary entry is linked.
    """
    from core.study.glossary import glossary_url

    if not labels:
        return
    st.warning(
        f"{', '.join(md(x) for x in labels)}: measured after ICU admission, so {what} is "
        "subject to immortal-time bias (patients had to survive long enough to receive it or "
        "to have the event); interpret with care. "
        f"[What is immortal-time bias?]({glossary_url('immortal_time')})",
        icon=":material/warning:",
    )


WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?:https?|ftp|mailto|www)(?=\\[:.])\\|@")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&])")


def md(text: object) -> str:
    """``text`` from a file, a URL or a widget, made inert for any Markdown element.

    Every Markdown / HTML punctuation character is backslash-escaped, so a column name such as
    ``![x](http://host/x.png)`` or ``[log in](http://host)`` is shown as those characters, never
    as an image or a link (also ``:material/...:`` icons, ``$...$`` formulas, ``:red[...]``).
    Use it for every user string inside ``st.markdown``/``st.caption``/``st.warning``/... text;
    ``st.text``, ``st.code`` and data frames need no escaping.
    """
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
    # GitHub-flavoured Markdown also links bare addresses (http://, www., name@host) after the
    # escapes are read: an invisible word joiner keeps them plain text, shown the same
    return _AUTOLINK.sub(lambda m: m.group(0)[:-1] + WORD_JOINER + m.group(0)[-1], escaped)
