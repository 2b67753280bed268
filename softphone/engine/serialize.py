"""Events as JSON-ready dicts: for `--json` output of the headless CLI and for test runners.

Each dict carries `type` (the event class name) and the dataclass fields; a TraceEvent's
SipTrace is written with SipTrace.to_json_dict, which masks credentials.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from softphone.engine.events import Event, TraceEvent


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-ready dict for one event."""
    if isinstance(event, TraceEvent):
        return {"type": "TraceEvent", "trace": event.trace.to_json_dict()}
    data = dataclasses.asdict(event)
    data["type"] = type(event).__name__
    return data


def event_to_json(event: Event) -> str:
    return json.dumps(event_to_dict(event), ensure_ascii=False)
