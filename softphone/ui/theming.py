"""Themes as TOML files: the shipped ones in `themes/`, the user's in <config dir>/themes.

Why files: users tweak colours without touching code, and a theme travels as one small file.
Why so strict: a theme with a typo (an unknown key, "#12345" as a colour) would otherwise fail
deep inside Textual's CSS with a traceback, or silently look wrong. Each file is checked here;
a broken one is skipped and reported once (one notification for all problems), and when the
chosen theme is missing or broken the app falls back to Textual's built-in dark theme.

A file holds the fields of `textual.theme.Theme`:

    name = "softphone-dark"     # how settings.theme names it
    dark = true
    primary = "#4A9EEA"         # required; the other colours are optional
    [variables]                 # optional Textual design variables
    "footer-key-foreground" = "#FFB454"
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
from textual.color import Color, ColorParseError
from textual.theme import BUILTIN_THEMES, Theme

from softphone import paths

FALLBACK_THEME = "textual-dark"
DEFAULT_THEME = "softphone-dark"
_COLOURS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_NUMBERS = ("luminosity_spread", "text_alpha")
_KNOWN = {"name", "dark", "variables", *_COLOURS, *_NUMBERS}


class ThemeError(ValueError):
    """A theme file that cannot be used; the message names the file and the fix."""


@dataclass
class ThemeSet:
    """The themes found and the problems met loading them."""

    themes: dict[str, Theme] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def choose(self, requested: str | None) -> str:
        """The theme to use for `requested` (None: ours), noting why when it falls back."""
        wanted = requested or DEFAULT_THEME
        if wanted in self.themes or wanted in BUILTIN_THEMES:
            return wanted
        if requested is not None:
            self.problems.append(f"theme {requested!r} not found; using {FALLBACK_THEME}")
        return FALLBACK_THEME

    def notice(self) -> str | None:
        """One message for every problem (None when all went well)."""
        if not self.problems:
            return None
        return "Themes: " + "; ".join(self.problems)


def shipped_theme_dir() -> Path | None:
    """`themes/` as installed: inside the package in a wheel, next to it in a checkout."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "themes", package.parent / "themes"):
        if candidate.is_dir():
            return candidate
    return None


def user_theme_dir() -> Path:
    """Where users drop their own theme files (not created here)."""
    return Path(platformdirs.user_config_dir(paths.APP)) / "themes"


def theme_dirs() -> list[Path]:
    shipped = shipped_theme_dir()
    return [d for d in (shipped, user_theme_dir()) if d is not None]


def load_themes(dirs: Iterable[Path]) -> ThemeSet:
    """Every *.toml in `dirs` (later directories override earlier ones by theme name)."""
    found = ThemeSet()
    for directory in dirs:
        try:
            files: Sequence[Path] = sorted(directory.glob("*.toml"))
        except OSError as exc:
            found.problems.append(f"cannot read {directory}: {exc.strerror or exc}")
            continue
        for path in files:
            try:
                theme = load_theme_file(path)
            except ThemeError as exc:
                found.problems.append(str(exc))
            else:
                found.themes[theme.name] = theme
    return found


def load_theme_file(path: Path) -> Theme:
    """Read and check one theme file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeError(f"{path.name}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{path.name}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise ThemeError(f"{path.name}: unknown key(s) {', '.join(unknown)}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeError(f'{path.name}: needs name = "..."')
    if "primary" not in data:
        raise ThemeError(f'{path.name}: needs primary = "#RRGGBB"')
    fields: dict[str, Any] = {}
    for key in _COLOURS:
        if key in data:
            fields[key] = _colour(path, key, data[key])
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeError(f"{path.name}: [variables] maps names to text values")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeError(f"{path.name}: dark must be true or false")
    for key in _NUMBERS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ThemeError(f"{path.name}: {key} must be a number")
            fields[key] = float(value)
    try:
        theme = Theme(name=name.strip(), dark=dark, variables=dict(variables), **fields)
        theme.to_color_system()  # the place a bad combination would fail later
    except Exception as exc:  # Textual raises several types; the file is what is wrong
        raise ThemeError(f"{path.name}: {exc}") from None
    return theme


def _colour(path: Path, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ThemeError(f'{path.name}: {key} must be a colour in quotes, e.g. "#3B82F6"')
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeError(f"{path.name}: {key} = {value!r} is not a colour") from None
    return value
