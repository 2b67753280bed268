"""Theme colours as Rich styles, for widgets that render Rich Text (DataTable cells).

Why: DataTable cells are Rich renderables, which cannot use Textual's `$success` variables;
taking the colours from the current theme keeps states readable in every theme (a fixed
"green" is invisible on the amber theme).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import App
from textual.color import Color


def colour(app: App[object], name: str) -> str:
    """The theme variable `name` as an opaque #rrggbb (alpha blended onto the background)."""
    variables = app.theme_variables
    try:
        value = Color.parse(variables.get(name, variables["foreground"]))
        background = Color.parse(variables["background"])
    except Exception:  # a theme variable like "auto 60%": use the foreground
        return Color.parse(variables["foreground"]).hex6
    if value.a < 1:
        value = background.blend(value.with_alpha(1), value.a)
    return value.hex6


def styled(app: App[object], text: str, name: str | None, bold: bool = False) -> Text:
    """`text` (never parsed as markup: remote names may contain brackets) in colour `name`."""
    style = colour(app, name) if name else ""
    if bold:
        style = f"bold {style}".strip()
    return Text(text, style=style, end="")
