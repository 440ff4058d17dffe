"""Choices shared by several pages' view states."""

from __future__ import annotations

from core.cohort.schema import column_label

NONE = "(none: whole cohort)"  # the "no grouping" choice of Compare and Survival


def group_label(col: str) -> str:
    """A grouping column as offered in the pages' selectboxes."""
    return col if col == NONE else column_label(col, unit=False)
