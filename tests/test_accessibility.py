"""Accessibility: axe-core on every page of the running app, in headless Chromium.

No page may have a *serious* or *critical* axe violation that is ours to fix. Moderate and
minor ones are reported (printed with ``-s`` and in the failure message) but do not fail.

Excluded, with the reason, because the failing markup is Streamlit's own and no app code
or configuration can change it (:data:`STREAMLIT_OWNED`):

* ``list`` / ``listitem`` inside ``[data-testid="stSidebarNavItems"]``: Streamlit's
  sectioned navigation (``st.navigation`` with sections) puts the section headers and
  wrappers directly inside the ``<ul>``; the links themselves are keyboard- and
  screen-reader-usable.

Fixed on our side: ``color-contrast`` of ``st.caption`` text (Streamlit draws captions in
the theme's text colour at 60% opacity, 3.9:1 with the default light text colour) — the
darker ``[theme] textColor`` of ``.streamlit/config.toml`` brings it above 4.5:1; and the
BibTeX block of *About the data* wraps its lines (a horizontally scrollable ``<pre>`` is not
keyboard-reachable: ``scrollable-region-focusable``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
BLOCKING = ("serious", "critical")

# (rule id, CSS selector of the Streamlit element the nodes sit in): why it is not ours
STREAMLIT_OWNED = {
    ("list", '[data-testid="stSidebarNavItems"]'): (
        "Streamlit's sectioned sidebar navigation puts section headers inside its <ul>"
    ),
    ("listitem", '[data-testid="stSidebarNavItems"]'): (
        "Streamlit's sectioned sidebar navigation wraps its <li> in non-list containers"
    ),
}


def _url_paths() -> list[str]:
    """Every page file of the app, as st.navigation serves it (file stem; overview = /)."""
    stems = sorted(p.stem for p in (ROOT / "app_pages").glob("*.py") if not p.stem.startswith("_"))
    return ["" if s == "overview" else s for s in stems]


PATHS = [*_url_paths(), "story?present=1&step=6"]

# Runs axe, then tags each violating node with the first known container it sits in, so a
# rule can be excluded for Streamlit's markup only (never for the whole page).
AXE_JS = """
async (containers) => {
  const res = await axe.run(document, {resultTypes: ['violations']});
  return res.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => {
      let el = null;
      try { el = document.querySelector(n.target[0]); } catch (e) {}
      const inside = containers.find(sel => el && el.closest(sel)) || null;
      return {target: n.target.join(' '), html: n.html.slice(0, 160), inside: inside};
    }),
  }));
}
"""


def _axe(page) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    page.evaluate(Axe().axe_script)
    containers = sorted({sel for _, sel in STREAMLIT_OWNED})
    return page.evaluate(AXE_JS, containers)


def _classify(violations: list[dict]) -> dict[str, list[str]]:
    """Violating nodes by kind: blocking (ours), excluded (Streamlit's), other (minor)."""
    out: dict[str, list[str]] = {"blocking": [], "excluded": [], "other": []}
    for v in violations:
        for node in v["nodes"]:
            key = (v["id"], node["inside"])
            line = f"{v['id']} ({v['impact']}): {v['help']} — {node['target']} {node['html']}"
            if key in STREAMLIT_OWNED:
                out["excluded"].append(line)
            elif v["impact"] not in BLOCKING:
                out["other"].append(line)
            else:
                out["blocking"].append(line)
    return out


def _summary(found: dict[str, list[str]]) -> str:
    """One line per kind and rule with the number of nodes; blocking nodes in full."""
    lines = []
    for kind, items in found.items():
        counts: dict[str, int] = {}
        for item in items:
            rule = item.split(":", 1)[0]
            counts[rule] = counts.get(rule, 0) + 1
        lines += [f"  [{kind}] {rule} x{n}" for rule, n in counts.items()]
    lines += [f"    {item}" for item in found["blocking"]]
    return "\n".join(lines) or "  no violation"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p or "overview")
def test_no_serious_or_critical_violation(app_url, page, path):
    page.goto(f"{app_url}/{path}")
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    found = _classify(_axe(page))
    report = _summary(found)
    print(f"\naxe /{path}:\n{report}")
    assert not found["blocking"], f"axe violations on /{path}:\n{report}"


def test_every_page_is_checked():
    """A new page file is picked up automatically (nothing to register here)."""
    assert "story" in PATHS and "glossary" in PATHS and "about" in PATHS and "" in PATHS
