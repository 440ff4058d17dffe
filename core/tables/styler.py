"""pandas' Styler without matplotlib.

``DataFrame.style`` imports ``pandas.io.formats.style``, which imports ``matplotlib.pyplot``
whenever matplotlib is installed (lifelines installs it) only to offer
``background_gradient``, ``bar`` and ``text_gradient``, which the app never calls. That one
import cost the server process 28 MB and 0.8 s (``python -X importtime``). Here the module is
imported once with matplotlib hidden, so pandas records it as absent; the Styler's other
methods (``apply``, ``format``, ``hide``, ``to_latex``) do not use it. No library offers
this; if matplotlib is already loaded, the import is left alone.

In a process that loaded the Styler through here, ``Styler.background_gradient`` raises
pandas' "requires matplotlib" ImportError; matplotlib itself imports as usual afterwards.
While pandas' module loads (once, ~50 ms), an ``import matplotlib`` in another thread would
fail: nothing the app loads imports matplotlib (lifelines, statsmodels, Altair, docx do not).
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

STYLE_MODULE = "pandas.io.formats.style"
_HIDDEN = ("matplotlib", "matplotlib.pyplot")
_LOCK = threading.Lock()


def load_styler() -> None:
    """Import pandas' Styler module (once), with matplotlib hidden from it."""
    if STYLE_MODULE in sys.modules:
        return
    with _LOCK:
        if STYLE_MODULE in sys.modules or "matplotlib" in sys.modules:
            __import__(STYLE_MODULE)
            return
        for name in _HIDDEN:  # None in sys.modules: "import matplotlib" raises ImportError
            sys.modules[name] = None  # type: ignore[assignment]
        try:
            __import__(STYLE_MODULE)
        finally:
            for name in _HIDDEN:
                if sys.modules.get(name, 0) is None:
                    del sys.modules[name]


def styler(frame: pd.DataFrame) -> Styler:
    """``frame.style``, the Styler module imported by :func:`load_styler`."""
    load_styler()
    return frame.style
