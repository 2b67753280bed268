"""Where the SIP log pane and the ladder screen come from.

Both are written separately (widgets/siplog.py, screens/ladder.py). Until those files exist the
app uses small stand-ins with the same contract, so it runs and its tests pass either way; the
import is by name so type checking does not depend on which one is installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual.screen import Screen
from textual.widget import Widget

if TYPE_CHECKING:
    from softphone.sip.trace import SipTrace


PROBLEMS: list[str] = []  # why a real part could not be loaded (shown once as a notice)


def _load(module: str, name: str, fallback: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:
        if exc.name != module:  # the real module exists but does not load: say so, go on
            PROBLEMS.append(f"{module} did not load ({exc}); using a simple stand-in")
    except Exception as exc:
        PROBLEMS.append(f"{module} did not load ({type(exc).__name__}: {exc}); using a stand-in")
    return getattr(importlib.import_module(fallback), name)


def sip_log_pane(id: str) -> Widget:
    """A new SipLogPane (real, or the stand-in)."""
    cls = _load("softphone.ui.widgets.siplog", "SipLogPane", "softphone.ui.widgets.siplog_fallback")
    pane = cls(id=id)
    assert isinstance(pane, Widget)
    return pane


def ladder_class() -> Any:
    """The LadderScreen class (real, or the stand-in)."""
    return _load(
        "softphone.ui.screens.ladder", "LadderScreen", "softphone.ui.screens.ladder_fallback"
    )


def ladder_screen(traces: Sequence[SipTrace], call_id: str | None) -> Screen[Any]:
    """A new LadderScreen for `call_id` (None: every call)."""
    screen = ladder_class()(traces, call_id)
    assert isinstance(screen, Screen)
    return screen
