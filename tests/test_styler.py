"""pandas' Styler loaded without matplotlib (core.tables.styler), in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_the_styler_works_without_loading_matplotlib():
    out = _run(
        "import sys; import pandas as pd\n"
        "from core.tables.styler import styler\n"
        "df = pd.DataFrame({'a': [1.234, 5.0], 'b': ['x&y', 'z']})\n"
        "s = styler(df).apply(lambda r: ['font-weight: bold'] * len(r), axis=1)\n"
        "html = s.to_html()\n"
        "tex = styler(df).hide(axis='index').format(escape='latex').to_latex()\n"
        "print('matplotlib' in sys.modules, 'font-weight: bold' in html, r'x\\&y' in tex)\n"
        "import matplotlib\n"  # hidden only while pandas' module loaded, not afterwards
        "print(matplotlib.__name__)"
    )
    assert out.splitlines() == ["False True True", "matplotlib"]


def test_an_already_loaded_matplotlib_is_left_to_pandas():
    out = _run(
        "import matplotlib; import pandas as pd\n"
        "from core.tables.styler import styler\n"
        "styler(pd.DataFrame({'a': [1]}))\n"
        "import pandas.io.formats.style as m; print(m.has_mpl)"
    )
    assert out == "True"


def test_plain_dataframe_style_would_load_matplotlib():
    """The reason for the module: without it, pandas imports matplotlib.pyplot."""
    out = _run(
        "import sys; import pandas as pd\n"
        "pd.DataFrame({'a': [1]}).style\n"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    assert out == "True"
