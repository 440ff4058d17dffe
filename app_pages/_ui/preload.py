"""The browser's chart code, loaded while the user reads the first page.

Streamlit's frontend loads the code of an element type the first time a page shows one
(Vite chunks behind ``React.lazy``): the first page with a chart waits for the Vega-Lite
renderer (~1.6 MB of JavaScript here) to be fetched, compiled and run before it can draw. The
overview has no chart, so the story, Survival and Cox paid for it on their first visit.

:func:`preload_script` returns a constant script of the app's own (never user text) that, once
per browser tab and when the browser is idle after the first page has drawn, imports those
chunks from the same URLs the frontend uses (resolved against its own entry module, so a base
path on a host works too). The module map then holds them, and a page's first chart starts
drawing at once. Measured on the story's first visit after reading the overview 6 s (headless
Chromium, 4 alternating fresh servers): 1.36-1.59 s without, 1.04-1.34 s with.

The chunk names carry a content hash that changes with every Streamlit release: they are read
from the installed package's static folder, once per process. A name not found is left out
(the page then loads it on first use, as before); ``tests/test_preload.py`` fails when one of
:data:`CHUNKS` is missing from the installed Streamlit.
"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

#: Element code the app's pages use after the first one: Vega-Lite charts (the component, the
#: renderer it loads on use, its expression interpreter), the page links of the story and the
#: data grid.
CHUNKS = ("ArrowVegaLiteChart", "embed", "vega-interpreter", "PageLink", "DataFrame")

STATIC_JS = Path(st.__file__).resolve().parent / "static" / "static" / "js"

SCRIPT = """<script>
(function () {
  if (window.__chartCodePreloaded) { return; }
  window.__chartCodePreloaded = true;
  const names = NAMES;
  const load = function () {
    const entry = Array.from(document.querySelectorAll("script[type=module][src]"))
      .map(function (s) { return s.src; })
      .find(function (src) { return src.indexOf("/static/js/index.") !== -1; });
    if (!entry) { return; }
    names.forEach(function (name) {
      import(new URL(name, entry).href).catch(function () {});  // loaded on use instead
    });
  };
  const idle = function () {
    if ("requestIdleCallback" in window) {
      window.requestIdleCallback(load, {timeout: 2000});
    } else {
      window.setTimeout(load, 500);
    }
  };
  // after the first page has drawn: its own run is never slowed by this
  const wait = window.setInterval(function () {
    const app = document.querySelector('[data-testid="stApp"]');
    if (app && app.getAttribute("data-test-script-state") === "notRunning") {
      window.clearInterval(wait);
      idle();
    }
  }, 250);
})();
</script>"""


@st.cache_resource(show_spinner=False)
def chunk_files(static_js: Path = STATIC_JS, chunks: tuple[str, ...] = CHUNKS) -> list[str]:
    """File names of ``chunks`` in Streamlit's static folder (``Name.<hash>.js``)."""
    found = []
    for chunk in chunks:
        names = sorted(p.name for p in static_js.glob(f"{chunk}.*.js") if p.name.count(".") == 2)
        found.extend(names[:1])
    return found


def preload_script() -> str:
    """The script that imports :func:`chunk_files` when the browser is idle ('' if none)."""
    files = chunk_files()
    return SCRIPT.replace("NAMES", json.dumps(files)) if files else ""
