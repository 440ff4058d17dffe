"""View state of the Compare groups page (URL keys ``cmp_*``).

Streamlit's binding writes the *shown* text of a choice in the URL: ``cmp_preset=Table 4 — by
1-year outcome``, ``cmp_by=Age (years)``, ``cmp_adj=Holm``, ``cmp_var=Male gender``; the chosen
variables as repeated keys ``cmp_vars=Demographics · Age (years)&cmp_vars=...``; booleans
``true``/``false``; a value equal to its default is left out.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app_pages._ui.state import PageState
from app_pages._ui.views.common import NONE
from core.cohort.schema import column_label
from core.study.paper_tables import catalog_spec, variable_label

COMPARE_PRESETS = {
    "custom": "Custom",
    "table1": "Table 1 — whole cohort",
    "table3": "Table 3 — by reason for ICU admission",
    "table4": "Table 4 — by 1-year outcome",
}
ADJUST = {"none": "None", "holm": "Holm", "BH": "Benjamini-Hochberg"}


def by_label(col: str) -> str:
    """A grouping column as offered in the "Group by" box (label with its unit)."""
    return col if col == NONE else column_label(col)


def option_label(col: str) -> str:
    """A variable as offered in the variables' multiselect: ``section · label``."""
    spec = catalog_spec(col)
    return f"{spec.section} · {spec.label}"


class CompareView(BaseModel):
    """What the Compare page shows; each field is a widget, its default and its URL key."""

    model_config = ConfigDict(frozen=True)
    preset: Literal["custom", "table1", "table3", "table4"] = "table3"
    by: str = "icu_reason"  # a grouping column, or NONE; a preset fixes it
    as_cut: bool = False  # a numeric column with few values: cut it instead of one group each
    cut: float | None = Field(None, allow_inf_nan=False)  # threshold; None: the median
    vars: tuple[str, ...] | None = None  # custom table's variables (None: every one)
    adj: Literal["none", "holm", "BH"] = "none"  # p-value adjustment
    all: bool = False  # show every level (e.g. the 'no' rows of yes/no variables)
    paper: bool = True  # the published values beside (the paper's tables, shipped cohort)
    var: str = ""  # the variable looked at on its own ("": the table's first)


class CompareState(PageState[CompareView]):
    """:class:`PageState` whose links write the chosen variables as repeated keys (``""``: none)
    and the variable looked at by its label in the link's own table (a row's label differs
    between tables: ``ecog_ps`` is "Performance status" in Table 4)."""

    def link(self, **values: Any) -> dict[str, str | list[str]]:
        view = self.model(**values)
        out = super().link(**{k: v for k, v in values.items() if k not in ("var", "vars")})
        if view.vars is not None:  # None: every variable (the multiselect's default)
            out[self.key("vars")] = [option_label(c) for c in view.vars] or ""  # "": none
        if view.var:
            out[self.key("var")] = variable_label(view.var, view.preset)
        return out


COMPARE = CompareState(
    CompareView,
    prefix="cmp_",
    formats={"preset": COMPARE_PRESETS.get, "by": by_label, "adj": ADJUST.get},
)
