"""FakeEngine keeps the Engine's interface and behaves like it where a UI can tell."""

from __future__ import annotations

import inspect

import pytest

from softphone.engine.errors import EngineCommandError, EngineStoppedError
from softphone.engine.events import CallEvent, EngineStateEvent, Event
from softphone.engine.fake import FakeEngine
from softphone.engine.types import EngineAccount


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") or name in ("__enter__", "__exit__")
    }


def test_same_public_methods_and_signatures_as_engine() -> None:
    from softphone.engine.engine import Engine  # loads pjsua2; fine in the engine tests

    real, fake = _public(Engine), _public(FakeEngine)
    missing = set(real) - set(fake)
    assert not missing, f"FakeEngine lacks {missing}"
    for name, signature in real.items():
        assert [p.name for p in signature.parameters.values()] == [
            p.name for p in fake[name].parameters.values()
        ], name


def test_importing_the_fake_does_not_load_pjsua2() -> None:
    import subprocess
    import sys

    code = (
        "import sys, softphone.engine.fake, softphone.engine.events, softphone.engine.types\n"
        "import softphone.engine\n"
        "print('pjsua2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_records_commands_and_emits_events() -> None:
    seen: list[Event] = []
    engine = FakeEngine(seen.append)
    with engine:
        acc = EngineAccount("a", "sip:a@h", None, "a", "pw")
        assert engine.add_account(acc).result() is None
        first, second = (
            engine.make_call("a", "sip:b@h").result(),
            engine.make_call("a", "x").result(),
        )
        assert (first, second) == (1, 2)
        engine.fail("hold", "488 Not Acceptable Here")
        with pytest.raises(EngineCommandError, match="488"):
            engine.hold(first).result()
        assert engine.hold(first).result() is None  # only the next one fails
        event = CallEvent(first, "a", "out", "sip:b@h", "sip:b@h", "confirmed", 200, "OK")
        engine.emit(event)
        assert engine.call_info(first).result() == event
        assert engine.list_calls().result() == (event,)
        with pytest.raises(EngineCommandError):
            engine.call_info(99).result()
    assert engine.names()[:4] == ["start", "add_account", "make_call", "make_call"]
    assert seen[0] == EngineStateEvent("started") and seen[-1] == EngineStateEvent("stopped")
    assert event in seen
    with pytest.raises(EngineStoppedError):
        engine.hangup(first).result()
