"""app_pages/_ui/render.md: user text never becomes Markdown (image, link, icon, formula)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app_pages._ui.render import md

PAYLOADS = [
    "![x](http://127.0.0.1:9/x.png)",
    "[phish](http://127.0.0.1:9/login)",
    "[Session expired, log in](http://127.0.0.1:9/)",
    "<img src=x onerror=alert(1)>",
    ":material/warning: :red[alarm] $x^2$",
    "**bold** _it_ `code` # title",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_markdown_character_is_escaped(payload):
    out = md(payload)
    for ch in "![]()<>:*_`$#":
        assert f"\\{ch}" in out or ch not in payload
    # nothing lost: shown as typed (the invisible word joiner only stops address autolinks)
    assert out.replace("\\", "").replace("\u2060", "") == payload


def test_escaped_text_renders_as_plain_text():
    """Streamlit's Markdown shows the characters: no link, image or HTML element."""
    at = AppTest.from_string(
        "import streamlit as st\n"
        "from app_pages._ui.render import md\n"
        f"for p in {PAYLOADS!r}:\n"
        "    st.markdown('By ' + md(p))\n"
    )
    at.run()
    assert not at.exception
    shown = [m.value for m in at.markdown]
    assert shown == ["By " + md(p) for p in PAYLOADS]
