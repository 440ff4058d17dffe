"""One declarative view-state model per page, bound to the URL and kept across page switches.

A page declares its view state once, as a frozen pydantic model: one field per setting, with
its default and its allowed values (``Literal``) or bounds (``Field(ge=..., le=...)``)::

    class SurvivalView(BaseModel):
        preset: Literal["custom", "fig2", "fig3"] = "custom"
        ci: bool = True

    VIEW = PageState(SurvivalView, prefix="km_")
    st.selectbox("Preset", options, **VIEW.widget("preset", options))
    view = VIEW.current()          # a validated SurvivalView of what is on screen

:meth:`PageState.widget` gives the widget its key (``prefix + field``), its default and
Streamlit's own binding (``bind="query-params"``: the browser's URL follows the widget, a URL
sets it, an invalid URL value is ignored, a default value leaves the URL;
``persist_state="session"``: the value survives a switch to another page and back).  The
browser updates the URL in place for a widget change, so Back goes to the previous page in one
press.  :meth:`PageState.link` builds the query parameters of a view for ``st.page_link``
(the story's links), validated by the same model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Generic, TypeVar

import streamlit as st
from pydantic import BaseModel, TypeAdapter, ValidationError
from streamlit.errors import StreamlitAPIException

M = TypeVar("M", bound=BaseModel)

BIND: dict[str, Any] = {"bind": "query-params", "persist_state": "session"}


class PageState(Generic[M]):
    """The view state of one page: a pydantic model and the URL prefix of its fields."""

    def __init__(
        self, model: type[M], prefix: str, formats: Mapping[str, Callable[[Any], str]] | None = None
    ) -> None:
        self.model = model
        self.prefix = prefix
        # how a choice field's options are shown: Streamlit's binding writes the shown text in
        # the URL (``km_group=Reason for ICU admission``), so widget and links share it here
        self.formats = dict(formats or {})

    def key(self, name: str) -> str:
        """Session-state and URL key of field ``name``."""
        if name not in self.model.model_fields:
            raise KeyError(f"{self.model.__name__} has no field {name!r}")
        return self.prefix + name

    def default(self, name: str) -> Any:
        return self.model.model_fields[name].get_default(call_default_factory=True)

    def bounds(self, name: str) -> dict[str, Any]:
        """``min_value`` / ``max_value`` of a number widget from the field's ``ge`` / ``le``."""
        out = {}
        for m in self.model.model_fields[name].metadata:
            if hasattr(m, "ge"):
                out["min_value"] = m.ge
            if hasattr(m, "le"):
                out["max_value"] = m.le
        return out

    def value(self, name: str) -> Any:
        """The field's value on screen (the default before its widget has run)."""
        return st.session_state.get(self.key(name), self.default(name))

    def set(self, name: str, value: Any) -> None:
        """Set a field before its widget runs (e.g. in another widget's callback)."""
        st.session_state[self.key(name)] = value

    def widget(self, name: str, options: Sequence[Any] | None = None) -> dict[str, Any]:
        """Keyword arguments of the field's widget: key, default, URL binding, persistence.

        ``options`` (selectbox / radio) turns the default into an ``index``; a default that
        is not among the options (the cohort lacks it) falls back to the first option.
        """
        kw: dict[str, Any] = {"key": self.key(name), **BIND}
        default = self.default(name)
        if self.key(name) not in st.session_state:  # first draw: check what the link holds
            self._check_link(name, options)
        if name in self.formats:
            kw["format_func"] = self.formats[name]
        if isinstance(default, list | tuple):  # multiselect: default = the allowed defaults
            allowed = None if options is None else list(options)
            kw["default"] = [v for v in default if allowed is None or v in allowed]
            if allowed is not None and self.key(name) in st.session_state:
                kept = st.session_state[self.key(name)]
                st.session_state[self.key(name)] = [v for v in kept if v in allowed]
            return kw
        if options is not None:
            options = list(options)
            kw["index"] = options.index(default) if default in options else 0
        else:
            kw["value"] = default
        self.keep_valid(name, options)
        return kw

    def _check_link(self, name: str, options: Sequence[Any] | None) -> None:
        """Drop a link's value that the model refuses, with a visible note (never a crash).

        Streamlit's binding ignores an unknown option or an out-of-range number by itself, but
        raises on a non-finite number for a whole-number widget (``?km_h=1e309``); such a value
        is removed before the widget reads it.  Either way the user is told what was ignored.
        """
        key = self.key(name)
        raw = st.query_params.get_all(key)
        if not raw:
            return
        problem = None
        if options is not None:
            fmt = self.formats.get(name, str)
            shown = {_url_text(fmt(o)) for o in options}
            if any(v not in shown for v in raw if v != ""):
                problem = "not one of the choices"
        else:
            field = self.model.model_fields[name]
            try:
                kind = (
                    Annotated[field.annotation, *field.metadata]
                    if field.metadata
                    else field.annotation
                )
                TypeAdapter(kind).validate_python(_parse_scalar(raw[0], field.annotation))
            except (ValidationError, ValueError, OverflowError, KeyError):
                problem = "not a valid value here"
                _forget_link_value(key)
        if problem:
            from app_pages._ui.render import md

            st.toast(
                f"Ignored from the link: {md(key)} = {md(raw[0][:40])} ({problem}).",
                icon=":material/link_off:",
            )

    def keep_valid(self, name: str, options: Sequence[Any] | None) -> None:
        """Drop a kept value that is no longer allowed (another cohort, another filter)."""
        key = self.key(name)
        if options is not None and key in st.session_state:
            if st.session_state[key] not in list(options):
                del st.session_state[key]

    def current(self) -> M:
        """The view on screen as a validated model; an invalid field falls back to its default."""
        values = {n: self.value(n) for n in self.model.model_fields}
        try:
            return self.model(**values)
        except ValidationError as err:
            bad = {str(e["loc"][0]) for e in err.errors() if e["loc"]}
            clean = {n: v for n, v in values.items() if n not in bad}
            return self.model(**clean)

    def link(self, **values: Any) -> dict[str, str | list[str]]:
        """Query parameters of this page showing ``values``, validated by the model.

        Every named field is written, defaults included: a link sets what it names even when
        the session kept other values (Streamlit then drops a default from the address bar).
        A list field (multiselect) gives one repeated parameter per item, as the binding reads;
        an empty list is the empty parameter (``?k=``), Streamlit's empty selection.
        """
        view = self.model(**values)
        fmt = self.formats
        out: dict[str, str | list[str]] = {}
        for name in values:
            v = getattr(view, name)
            if isinstance(v, list | tuple):
                items = [_url_text(fmt[name](x) if name in fmt else x) for x in v]
                out[self.key(name)] = items or ""
            else:
                out[self.key(name)] = _url_text(fmt[name](v) if name in fmt else v)
        return out


def _forget_link_value(key: str) -> None:
    """Remove ``key`` from the address before a bound widget reads it.

    Streamlit 1.67's binding seeds a widget from the address it was opened with and catches
    ValueError/TypeError, but a whole-number ``number_input`` meets ``int(inf)`` and raises
    OverflowError (``?cox_hd=inf`` stopped the page).  Its public ``st.query_params`` cannot
    change that first address, hence the session's own object (guarded: if Streamlit's
    internals move, the value is left to Streamlit).
    """
    try:
        from streamlit.runtime.state.session_state_proxy import get_session_state

        with get_session_state().query_params() as qp:
            qp._initial_query_params.pop(key, None)
            qp.remove_param(key)
    except (AttributeError, ImportError, KeyError, StreamlitAPIException):
        pass


def _parse_scalar(text: str, annotation: Any) -> Any:
    """A URL text as the field's type would read it (numbers checked for finiteness)."""
    if annotation in (int, float) or str(annotation).startswith(("int", "float")):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"{text!r} is not a finite number")
        return int(value) if annotation is int and value.is_integer() else value
    if annotation is bool:
        return {"true": True, "false": False}[text.lower()]
    return text


def _url_text(value: Any) -> str:
    """A field value as Streamlit's binding writes it in the URL."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
