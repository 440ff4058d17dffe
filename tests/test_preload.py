"""The browser's chart code, loaded after the first page (app_pages/_ui/preload)."""

from __future__ import annotations

import json

import pytest

from app_pages._ui.preload import CHUNKS, STATIC_JS, chunk_files, preload_script
from tests.conftest import wait_for_app


def test_every_chunk_is_in_the_installed_streamlit():
    """A Streamlit release that renames a chunk fails here, not silently in the browser."""
    files = chunk_files.__wrapped__(STATIC_JS, CHUNKS)
    assert [f.split(".")[0] for f in files] == list(CHUNKS)
    assert all((STATIC_JS / f).is_file() for f in files)


def test_the_script_names_only_the_files_found(tmp_path):
    (tmp_path / "embed.AbC-12_x.js").write_text("")
    (tmp_path / "embed.esm.Zz.js").write_text("")  # another chunk that starts the same way
    (tmp_path / "PageLink.q1.js").write_text("")
    assert chunk_files.__wrapped__(tmp_path, ("embed", "PageLink", "Missing")) == [
        "embed.AbC-12_x.js",
        "PageLink.q1.js",
    ]
    assert chunk_files.__wrapped__(tmp_path, ("Missing",)) == []
    script = preload_script()
    assert json.dumps(chunk_files()) in script and "NAMES" not in script


@pytest.mark.browser
def test_the_chart_code_is_loaded_while_the_overview_is_read(app_url, page):
    """The overview draws no chart; a few seconds after it has drawn, the browser holds the
    Vega-Lite renderer all the same (fetched by the preload, not by a chart)."""
    page.goto(app_url)
    wait_for_app(page)
    assert page.locator('[data-testid="stVegaLiteChart"]').count() == 0
    embed = next(f for f in chunk_files() if f.startswith("embed."))
    page.wait_for_function(
        "(name) => performance.getEntriesByType('resource').some(e => e.name.endsWith(name))",
        arg=embed,
        timeout=15_000,
    )
    assert page.locator('[data-testid="stException"]').count() == 0
