"""Rich styles of a widget that renders its own lines, looked up once per style change.

`rich_style` and `get_component_rich_style` walk the DOM on every call, and a line-API widget
(the ladder, the SIP log) asks for the same few styles for every row it renders. It keeps them
here and calls `clear()` from `notify_style_update`, when Textual says the styles changed.
"""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget


class StyleCache:
    """The widget's base style and its component classes' styles, until `clear()`."""

    def __init__(self, widget: Widget) -> None:
        self._widget = widget
        self._components: dict[str, Style] = {}
        self._base: Style | None = None

    @property
    def base(self) -> Style:
        if self._base is None:
            self._base = self._widget.rich_style
        return self._base

    def component(self, name: str) -> Style:
        style = self._components.get(name)
        if style is None:
            style = self._components[name] = self._widget.get_component_rich_style(
                name, partial=True
            )
        return style

    def clear(self) -> None:
        self._components.clear()
        self._base = None
