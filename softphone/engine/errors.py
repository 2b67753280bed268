"""Exceptions the engine raises to its callers.

They carry plain text only. A pjsua2 `pj.Error` has an empty str() (engine-notes §0), and an
exception object that crosses threads must not keep engine-thread frames (and with them pjsua2
objects) alive past libDestroy (§2), so errors are translated and their tracebacks dropped
before they reach a Future.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of the engine's errors."""


class EngineStartError(EngineError):
    """The engine could not start (another engine runs, a port is taken, bad TLS files...)."""


class EngineStoppedError(EngineError):
    """A command was submitted to an engine that is not running."""


class EngineCommandError(EngineError):
    """A command failed; `where` names the operation, the message says why in plain words."""

    def __init__(self, where: str, message: str, status: int = 0) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message
        self.status = status
