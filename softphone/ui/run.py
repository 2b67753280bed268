"""`run_tui`: the one entry point for opening the TUI (softphone, softphone lab).

The engine is made by a factory so callers choose it: the real pjsua2 Engine by default
(imported only when the factory runs, after the first frame), a FakeEngine in tests, or an
Engine with the lab's options for `softphone lab`. Accounts given in `extra_accounts` come with
their password (the lab's demo users) and are never written to config.toml or the keyring.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from softphone.config import AccountConfig, Settings

if TYPE_CHECKING:
    from textual.app import App

    from softphone.engine.events import Event
    from softphone.ui.bridge import EngineLike


def default_engine(sink: Callable[[Event], None]) -> EngineLike:
    """The real engine with default options (pjsua2 is imported here, on first use)."""
    from softphone.engine.engine import Engine

    return Engine(sink)


def run_tui(
    settings: Settings,
    *,
    engine_factory: Callable[[Callable[[Event], None]], EngineLike] | None = None,
    extra_accounts: Sequence[tuple[AccountConfig, str]] = (),
    title: str | None = None,
    on_ready: Callable[[App[int]], None] | None = None,
) -> int:
    """Run the TUI until the user quits; returns the exit code. The engine is always stopped
    (calls hung up, accounts unregistered) before this returns, even after a crash."""
    from softphone.ui.app import SoftphoneApp

    app = SoftphoneApp(
        settings,
        engine_factory=engine_factory or default_engine,
        extra_accounts=extra_accounts,
        title=title,
        on_ready=on_ready,
    )
    try:
        code = app.run()
    finally:
        app.bridge.stop_now()
    return code if isinstance(code, int) else (app.return_code or 0)
