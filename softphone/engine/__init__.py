"""The phone engine: the only package that imports pjsua2 (with softphone.audio).

`Engine` (engine.py) is loaded lazily, so importing the types, the events or the FakeEngine
(fake.py) does not load pjsua2: the UI and its tests depend on those without the library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from softphone.engine.errors import (
    EngineCommandError,
    EngineError,
    EngineStartError,
    EngineStoppedError,
)
from softphone.engine.events import (
    AudioLevelEvent,
    AudioStateEvent,
    Binding,
    CallEvent,
    DtmfEvent,
    EngineErrorEvent,
    EngineStateEvent,
    Event,
    IncomingCallEvent,
    LogEvent,
    QualifyEvent,
    RegistrationEvent,
    RtpStats,
    TraceEvent,
    TransferEvent,
    TransportEvent,
)
from softphone.engine.types import EngineAccount, EngineOptions

if TYPE_CHECKING:
    from softphone.engine.engine import Engine

__all__ = [
    "AudioLevelEvent",
    "AudioStateEvent",
    "Binding",
    "CallEvent",
    "DtmfEvent",
    "Engine",
    "EngineAccount",
    "EngineCommandError",
    "EngineError",
    "EngineErrorEvent",
    "EngineOptions",
    "EngineStartError",
    "EngineStateEvent",
    "EngineStoppedError",
    "Event",
    "IncomingCallEvent",
    "LogEvent",
    "QualifyEvent",
    "RegistrationEvent",
    "RtpStats",
    "TraceEvent",
    "TransferEvent",
    "TransportEvent",
]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from softphone.engine.engine import Engine

        return Engine
    raise AttributeError(f"module 'softphone.engine' has no attribute {name!r}")
