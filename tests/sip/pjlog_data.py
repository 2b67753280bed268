"""Real pjsua 2.15.1 log entries, for the tests that cut, read and parse pjsua's log.

tests/engine/data/pjlog_entries.json holds them as copied byte for byte (CRLFs included) from
pjsua's own log files: a UDP register/call through our lab registrar (caller and callee) and a
TLS registration to Kamailio. Each record has the entry's first line ("head", or
"non-message") and the whole entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PATH = Path(__file__).parents[1] / "engine" / "data" / "pjlog_entries.json"
RECORDS: list[dict[str, Any]] = json.loads(PATH.read_text())
# The entries as pjsua wrote them to its file (SWIG hands undecodable bytes over escaped).
ENTRY_BYTES = [r["entry"].encode("utf-8", "surrogateescape") for r in RECORDS]
