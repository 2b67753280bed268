"""Fixtures for the lab tests: a LabSession in throw-away XDG directories, and a phone.

The phone is a real pjsua2 engine in a child process (tests/engine/harness.py), registered
with exactly the accounts `softphone lab` gives the TUI, so these tests dial the far end the
way a newcomer does. One lab per module: starting it costs a fraction of a second, but the far
end's numbers are meant to be dialled again and again, which is part of what is tested.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from softphone.engine_account import to_engine_account
from softphone.labapp.session import LabSession
from softphone.providers import effective
from tests.engine.harness import EngineProc, rtp_block
from tests.peers.ports import free_port_block

XDG = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")


@pytest.fixture(scope="module")
def lab_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """XDG directories of our own: never the developer's data, config or logs."""
    root = tmp_path_factory.mktemp("lab-home")
    with pytest.MonkeyPatch.context() as mp:
        for var in XDG:
            mp.setenv(var, str(root / var.lower()))
        yield root


@pytest.fixture(scope="module")
def lab(lab_home: Path) -> Iterator[LabSession]:
    session = LabSession(
        port=free_port_block([0, 1]),
        far_end_rtp_port=rtp_block(400),
        data_dir=lab_home / "data",
        log_dir=lab_home / "log",
    )
    with session:
        assert session.wait_far_end(20), session.far_end_error
        yield session
    assert [f.exit_code for f in session.far_ends] == [0, 0], _logs(session)


@pytest.fixture(scope="module")
def phone(lab: LabSession, lab_home: Path) -> Iterator[EngineProc]:
    """An engine registered as the TUI's lab accounts (alice, and 700's third phone)."""
    proc = EngineProc(lab_home / "phone", "phone", codecs=["PCMU"])
    with proc:
        for config, password in lab.tui_accounts():
            account = to_engine_account(effective(config), password)
            fields = {k: getattr(account, k) for k in account.__dataclass_fields__}
            proc.cmd("add_account", **fields)
            proc.wait_event("RegistrationEvent", account=account.name, state="registered")
        yield proc


def _logs(session: LabSession) -> str:
    return "\n".join(f.log.read_text(errors="replace") for f in session.far_ends)
