"""Background imports after the first page (app_pages/_ui/warm.py)."""

from __future__ import annotations

import subprocess
import sys

from app_pages._ui.warm import page_modules
from tests.apptest import ROOT


def test_page_modules_are_read_from_every_page_with_their_submodules():
    names = page_modules()
    # the Cox page imports core.stats.cox.fit; Survival `from core.charts import survival`
    assert "core.stats.cox.fit" in names
    assert "core.charts.survival" in names  # a submodule named in a from-import
    assert "app_pages._ui.parametric" in names
    assert "core.charts.survival.km_screen" not in names  # a function, not a module


def test_the_thread_imports_every_page_module_in_a_fresh_interpreter():
    """In a fresh interpreter nothing heavy is loaded until the thread runs; then every page's
    modules and the on-use libraries are."""
    code = (
        "import sys\n"
        "from app_pages._ui import warm\n"
        "before = 'lifelines' in sys.modules or 'core.stats.cox.fit' in sys.modules\n"
        "warm.warm_imports().join(300)\n"
        "missing = [m for m in [*warm.page_modules(), *warm.ON_USE] if m not in sys.modules]\n"
        "print(before, missing)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=400
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False []"
