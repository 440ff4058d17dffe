"""app.py: configuration a user never sees fail (no traceback, offline icon), and the catch-all
message when a page cannot be drawn."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from streamlit.testing.v1 import AppTest

from tests.apptest import ROOT, USER_KEY, shipped_cohort, uploaded_cohort


def test_streamlit_reads_no_error_details_from_the_config():
    """``showErrorDetails = false`` means "stacktrace" in current Streamlit: it must be "none"."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert _option_read_by_streamlit("client.showErrorDetails") == "none"


def test_streamlit_reads_no_full_collection_after_each_run_from_the_config():
    """The hidden ``runner.postScriptGC`` (a full gc.collect() after every run) is off."""
    assert _option_read_by_streamlit("runner.postScriptGC") == "False"


def _option_read_by_streamlit(name: str) -> str:
    """The option as Streamlit reads it from .streamlit/config.toml, in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", f"from streamlit import config; print(config.get_option({name!r}))"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def test_page_icon_is_the_local_file_sent_inline():
    """The favicon is assets/icon.png itself, as a data: URL (no fetch, no media-store entry)."""
    import base64

    source = (ROOT / "app.py").read_text()
    assert ":material/monitor_heart:" not in source  # favicons of Material icons are fetched
    icon = (ROOT / "assets" / "icon.png").read_bytes()
    assert icon.startswith(b"\x89PNG")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    seen = []
    import streamlit as st

    original = st.set_page_config

    def spy(*args, **kwargs):
        seen.append(kwargs.get("page_icon"))
        return original(*args, **kwargs)

    st.set_page_config = spy
    try:
        at.run()
    finally:
        st.set_page_config = original
    assert not at.exception
    (url,) = seen
    assert base64.b64decode(url.removeprefix("data:image/png;base64,")) == icon


def test_a_page_that_fails_shows_a_message_not_an_exception():
    """A broken session cohort (its database closed) makes the page fail: app.py says so in
    plain words, and no Streamlit exception element is shown."""
    user = uploaded_cohort(shipped_cohort().head(10))
    user["con"].close()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[USER_KEY] = user
    at.run()
    assert not at.exception
    assert any("could not be drawn" in e.value for e in at.error)
