"""AppTest of the story, glossary and about pages.

Expected values come from the paper (data/published.yaml) and from core.study.glossary's terms;
links are checked against the query-parameter keys the target pages read.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import pytest
from streamlit.testing.v1 import AppTest

from app_pages._ui.views.survival import SURVIVAL
from core.study import glossary
from core.study.published import load_published
from core.study.story import STEPS, build_story
from tests.apptest import query_value, run_page, shipped_cohort

PUB = load_published()
N_STEPS = len(STEPS)


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [h.value for h in at.header] + [h.value for h in at.subheader]
    return "\n".join(parts)


def _titles() -> list[str]:
    return [s.title for s in build_story(shipped_cohort())]


# ---------------------------------------------------------------------------------------
# story
# ---------------------------------------------------------------------------------------
def test_story_shows_every_step_with_live_and_published_figures():
    at = run_page("app_pages/story.py", timeout=60, check=False)
    assert not at.exception
    assert [h.value for h in at.header] == [
        f"{i}. {title}" for i, title in enumerate(_titles(), start=1)
    ]
    assert any("not patient data" in c.value for c in at.caption)  # cohort badge
    first = at.table[0].value
    assert list(first.columns[:3]) == ["Figure", "This cohort (live)", "Paper"]
    row = first.set_index("Figure").loc["Patients"]
    assert row["This cohort (live)"] == row["Paper"] == str(PUB["meta"]["n"])
    assert not at.info  # full cohort: no "filtered" message


def test_story_links_are_plain_links_when_run_alone():
    at = run_page("app_pages/story.py", timeout=60, check=False, f_reason=["CRS", "Sepsis"])
    assert not at.exception
    text = _texts(at)
    fig2 = SURVIVAL.link(preset="fig2", group="ecog_ps", endpoint="os", h=360)
    assert f"(survival?{urlencode(fig2, doseq=True)}" in text
    assert "f_reason=CRS&f_reason=Sepsis" in text  # the active filter travels with the link
    assert any("filtered" in i.value for i in at.info)


def test_story_links_in_the_app_open_the_view_they_name():
    at = run_page("app.py", timeout=60, check=False)
    at.switch_page("app_pages/story.py").run()
    assert not at.exception
    links = {e.proto.label: e.proto for e in at.get("page_link")}
    assert len(links) == N_STEPS
    fig2 = next(p for label, p in links.items() if "Figure 2" in label)
    assert fig2.page == "survival"
    # the link's query string, opened on the Survival page, shows Figure 2
    target = run_page("app_pages/survival.py", timeout=60, **parse_qs(fig2.query_string))
    assert target.selectbox(key="km_preset").value == "fig2"
    assert target.selectbox(key="km_group").value == "ecog_ps"
    cox = next(p for label, p in links.items() if "Cox model" in label)
    assert cox.page == "cox"


def test_story_follows_the_filter():
    at = run_page("app_pages/story.py", timeout=60, check=False, f_reason="Sepsis")
    assert not at.exception
    n_sepsis = PUB["groupings"]["icu_reason"]["levels"]["Sepsis"]
    row = at.table[0].value.set_index("Figure").loc["Patients"]
    assert row["This cohort (live)"] == str(n_sepsis)
    # no disease-progression patient: the paper's Cox model cannot be refitted, said in words
    assert "cannot be fitted" in _texts(at)


def test_story_with_an_empty_filter_gives_messages_not_tracebacks():
    at = run_page("app_pages/story.py", timeout=60, check=False)
    at.sidebar.multiselect(key="f_reason").set_value([]).run()
    assert not at.exception
    assert "No patient passes the current filter" in _texts(at)


def test_presentation_mode_one_step_per_screen_with_step_in_url():
    at = run_page("app_pages/story.py", timeout=60, check=False, present="1", step="5")
    assert not at.exception
    assert [h.value for h in at.title] == [f"Step 5 of {N_STEPS}: Three prognostic factors"]
    assert not at.header
    at.button(key="story_next").click().run()
    assert query_value(at, "step") == "6"
    assert at.title[0].value.startswith(f"Step 6 of {N_STEPS}")
    at.button(key="story_prev").click().run()
    at.button(key="story_prev").click().run()
    assert query_value(at, "step") == "4"
    assert not at.exception


def test_presentation_mode_clamps_bad_steps_and_disables_ends():
    at = run_page("app_pages/story.py", timeout=60, check=False, present="1", step="99")
    assert query_value(at, "step") == str(N_STEPS)
    assert at.button(key="story_next").disabled
    at = run_page("app_pages/story.py", timeout=60, check=False, present="1", step="abc")
    assert query_value(at, "step") == "1"
    assert at.button(key="story_prev").disabled
    assert not at.exception


def test_start_and_exit_presentation():
    at = run_page("app_pages/story.py", timeout=60, check=False)
    at.button(key="story_start").click().run()
    assert query_value(at, "present") == "1" and query_value(at, "step") == "1"
    assert len(at.title) == 1 and not at.header
    at.button(key="story_exit").click().run()
    assert "present" not in at.query_params
    assert len(at.header) == N_STEPS


def test_presentation_mode_uses_larger_type():
    at = run_page("app_pages/story.py", timeout=60, check=False, present="1")
    html = [e.proto.body for e in at.get("html")]
    assert any("font-size" in h for h in html)


# ---------------------------------------------------------------------------------------
# glossary
# ---------------------------------------------------------------------------------------
def test_glossary_lists_every_term_with_its_anchor():
    at = run_page("app_pages/glossary.py", timeout=60, check=False)
    assert not at.exception
    anchors = {s.proto.anchor for s in at.subheader}
    assert {t.anchor for t in glossary.TERMS} <= anchors
    assert any("not patient data" in c.value for c in at.caption)
    methods = at.table[0].value
    assert "wilcox.test(x ~ g)" in methods.iloc[:, 2].tolist()


@pytest.mark.parametrize("query,expected", [("hazard", "Hazard ratio (HR)"), ("UCART", "UCART19")])
def test_glossary_search_filters_the_terms(query, expected):
    at = run_page("app_pages/glossary.py", timeout=60, check=False)
    at.text_input(key="gl_q").set_value(query).run()
    names = [s.value for s in at.main.subheader]
    assert expected in names
    assert len(names) < len(glossary.TERMS)


def test_glossary_search_from_url_and_no_match():
    at = run_page("app_pages/glossary.py", timeout=60, check=False, gl_q="tocilizumab")
    assert "Tocilizumab" in [s.value for s in at.subheader]
    at.text_input(key="gl_q").set_value("zzzz").run()
    assert not at.main.subheader
    assert any("No term matches" in i.value for i in at.info)


# ---------------------------------------------------------------------------------------
# about
# ---------------------------------------------------------------------------------------
def test_about_page_cites_the_study_and_states_the_licence():
    at = run_page("app_pages/about.py", timeout=60, check=False)
    assert not at.exception
    text = _texts(at) + "\n".join(w.value for w in at.warning)
    assert PUB["meta"]["title"] in text
    assert "not for clinical decisions" in text
    assert "MIT" in text
    assert "not patient data" in text
    assert "bibtex" in [c.proto.language for c in at.code]
    headers = [h.value for h in at.header]
    for h in ("The study", "How the cohort was reconstructed", "Limitations", "How to cite"):
        assert h in headers


def test_about_says_the_active_cohort_is_the_upload_when_one_is_loaded():
    from tests.apptest import USER_KEY, shipped_cohort, uploaded_cohort

    at = run_page(
        "app_pages/about.py",
        timeout=60,
        check=False,
        session_state={USER_KEY: uploaded_cohort(shipped_cohort().head(12))},
    )
    assert not at.exception
    warning = at.warning[0].value
    assert "your uploaded file" in warning
    assert not warning.split("**")[-1].strip().startswith("The app's own cohort is synthetic")


def _tables_by_position(node, path: tuple = ()) -> list[tuple[tuple, dict]]:
    out = []
    children = getattr(node, "children", None)
    for i, child in enumerate(children.values() if isinstance(children, dict) else []):
        if type(child).__name__ == "Table":
            out.append(((*path, i), child.value.to_dict()))
        out += _tables_by_position(child, (*path, i))
    return out


def test_replayed_tables_are_the_same_tables_in_the_same_places():
    """The story's tables are drawn once and replayed from the cache on later runs
    (render.static_table): a rerun shows every table with the same cells, each in its step's
    column, as the first run."""
    at = run_page("app_pages/story.py")
    first = _tables_by_position(at.main)
    at.run()
    again = _tables_by_position(at.main)
    assert len(first) >= N_STEPS  # the figures table of every step, at least
    assert again == first
    assert all(len(path) >= 2 for path, _ in first)  # inside a step's column, not at the top
