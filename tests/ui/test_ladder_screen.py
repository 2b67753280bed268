"""The ladder screen in a tiny host app: per-call and merged views, diagnosis, selection and
message, exports (read back by tshark), and a snapshot."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from softphone.sip.trace import SipTrace
from softphone.ui.dialogs.export_flow import ExportFlowDialog
from softphone.ui.dialogs.sip_message import SipMessageDialog
from softphone.ui.screens.ladder import LadderScreen
from softphone.ui.widgets.ladder import LadderView
from tests.sip.sipflows import ALICE, T0, TWILIO, trunk_call
from tests.sip.sipflows_proxy import forked_cancelled_call, proxied_call, retransmitted_call
from tests.ui.runasync import run_async

SIZE = (150, 36)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def everything() -> list[SipTrace]:
    return (
        proxied_call()
        + trunk_call(password="wrong", second_challenge=True)
        + forked_cancelled_call()
        + retransmitted_call()
    )


class Host(App[None]):
    def __init__(self, screen: LadderScreen) -> None:
        super().__init__()
        self.ladder = screen

    def on_mount(self) -> None:
        self.push_screen(self.ladder)


def screen_for(call_id: str | None, export_dir: Path | None = None) -> LadderScreen:
    return LadderScreen(everything(), call_id, export_dir=export_dir, clock_now=lambda: T0 + 60)


def shown_call(screen: LadderScreen) -> str | None:
    return screen.call_id  # through a call: mypy would narrow the attribute for good


def current(app: Host) -> object:
    return app.screen


def text_of(app: Host, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


@run_async
async def test_one_call_shows_title_diagnosis_ladder_and_message() -> None:
    app = Host(screen_for("tr-1"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        title = text_of(app, "#ladder-title")
        assert "INVITE +15005550006@127.0.0.1 → +14155550100@example.pstn.twilio.com" in title
        assert "7 messages" in title and "rejected 407" in title
        diagnosis = text_of(app, "#ladder-diagnosis")
        assert "407 after answering the challenge" in diagnosis and "user grable" in diagnosis
        view = app.screen.query_one(LadderView)
        assert view.flow.columns == (ALICE, TWILIO)
        assert ALICE in view.render_line(0).text and TWILIO in view.render_line(0).text
        assert "INVITE" in view.render_line(1).text and "▶" in view.render_line(2).text
        assert not app.screen.query_one("#ladder-calls").display  # one call: no call list
        await pilot.press("down", "down")
        assert view.selected == 2
        assert "407 Proxy Authentication required" in text_of(app, "#ladder-preview-body")
        await pilot.press("enter")
        assert isinstance(app.screen, SipMessageDialog)
        assert app.screen.trace.summary == "407 Proxy Authentication required"
        await pilot.press("escape", "escape")
        assert not isinstance(app.screen, LadderScreen)


@run_async
async def test_healthy_call_has_no_diagnosis_and_retransmissions_are_drawn() -> None:
    app = Host(screen_for("rt-1"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.query_one("#ladder-diagnosis").display
        view = app.screen.query_one(LadderView)
        assert "INVITE (retrans)" in view.render_line(3).text
        assert "╌" in view.render_line(4).text


@run_async
async def test_merged_view_has_a_call_list_to_pick_from() -> None:
    app = Host(screen_for(None))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LadderScreen)
        calls = screen.query_one("#ladder-calls", OptionList)
        assert calls.display and calls.option_count == 5
        assert "4 calls" in text_of(app, "#ladder-title") and "1 failed" in text_of(
            app, "#ladder-title"
        )
        assert len(screen.flow.arrows) == len(everything()) and screen.flow.call_id is None
        assert "✗" in str(calls.get_option_at_index(2).prompt)  # the failed trunk call
        calls.focus()
        await pilot.press("down", "down")
        await pilot.pause()
        assert screen.call_id == "tr-1" and screen.diagnosis is not None
        assert len(screen.flow.arrows) == 7
        await pilot.press("a")
        assert shown_call(screen) is None and len(screen.flow.arrows) == len(everything())


needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


@needs_tshark
@run_async
async def test_export_keys_write_pcap_text_and_mermaid(tmp_path: Path) -> None:
    app = Host(screen_for("tr-1", tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LadderScreen)
        written: list[Path] = []
        for key in ("p", "t", "m"):
            await pilot.press(key)
            assert screen.last_export is not None
            written.append(screen.last_export)
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any(str(written[0]) in m and "pcap of 7 messages" in m for m in messages)
    pcap, text, mermaid = written
    assert pcap.name == "call-tr-1-20231114-221420.pcap" and pcap.parent == tmp_path
    out = subprocess.run(
        ["tshark", "-r", str(pcap), "-Y", "sip", "-T", "fields", "-e", "sip.CSeq"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split("\n")
    assert len([line for line in out if line]) == 7
    assert b"Proxy-Authorization" in pcap.read_bytes() and b'response="***"' in pcap.read_bytes()
    assert text.read_text().splitlines()[1].startswith("Diagnosis: 407 after answering")
    assert mermaid.read_text().startswith("sequenceDiagram\n")


@run_async
async def test_export_as_a_chosen_path_and_default_data_dir(home: Path) -> None:
    app = Host(screen_for("px-1"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LadderScreen)
        await pilot.press("m")  # no export_dir: the data dir (XDG_DATA_HOME in tests)
        assert screen.last_export is not None
        assert screen.last_export.is_relative_to(home / "data" / "softphone" / "exports")
        await pilot.press("e")
        assert isinstance(app.screen, ExportFlowDialog)
        chosen = home / "mine" / "flow.txt"
        field = app.screen.query_one("#export-path", Input)
        field.value = str(chosen)
        await pilot.press("enter")
        await pilot.pause()
        assert current(app) is screen and chosen.exists()
        # The dialog's default format is pcap: the file is a pcap whatever its name.
        assert chosen.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1"


@run_async
async def test_export_failure_is_a_notice_not_a_crash(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    app = Host(screen_for("px-1", blocker))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert any("could not save" in n.message for n in app._notifications)


def test_ladder_snapshot(snap_compare: Any) -> None:
    app = Host(screen_for("px-1"))

    async def settle(pilot: Pilot[Any]) -> None:
        await pilot.press("down", "down", "down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(140, 30), run_before=settle)
