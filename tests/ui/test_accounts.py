"""Accounts in the TUI: passwords from the keyring or a prompt, the editor writing config.toml,
and the lab's accounts staying out of both."""

from __future__ import annotations

from typing import Any

from softphone.config import load_settings
from softphone.ui.dialogs.password import PasswordDialog
from softphone.ui.screens.account_editor import AccountEditor
from tests.ui.harness import (
    LAB,
    PBX,
    SIZE,
    TWILIO,
    async_test,
    make_app,
    started,
    until,
)


def added(engines: Any) -> dict[str, Any]:
    return {args[0].name: args[0] for n, args in engines.engine.commands if n == "add_account"}


@async_test
async def test_stored_passwords_reach_the_engine_missing_ones_do_not(memory_keyring: Any) -> None:
    memory_keyring.set_password("softphone", "work", "s3cret")
    app, engines = make_app([TWILIO, PBX])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        await pilot.pause()
        accounts = added(engines)
        assert list(accounts) == ["work"]
        work = accounts["work"]
        assert work.password == "s3cret"
        assert work.registrar_uri == "sip:acme.sip.us1.twilio.com:5061;transport=tls"
        assert work.id_uri == "sip:+14155550100@acme.sip.us1.twilio.com"
        assert work.transport == "tls" and work.srtp == "mandatory"
        assert work.realm == "sip.twilio.com" and work.expires == 600
        assert app.model.accounts["pbx"].setup == "no password"


@async_test
async def test_password_prompt_registers_and_stores_in_the_keyring(memory_keyring: Any) -> None:
    app, engines = make_app([PBX])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines)
        app.main.accounts.table.focus()
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, PasswordDialog))
        await pilot.press(*"typed-pw", "enter")
        await until(pilot, lambda: "pbx" in added(engines))
        assert added(engines)["pbx"].password == "typed-pw"
        assert memory_keyring.get_password("softphone", "pbx") == "typed-pw"
        assert app.model.accounts["pbx"].setup == "ok"


@async_test
async def test_password_prompt_can_keep_it_for_this_run_only(memory_keyring: Any) -> None:
    app, engines = make_app([PBX])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, PasswordDialog))
        app.screen.query_one("#password-save").value = False  # type: ignore[attr-defined]
        await pilot.press(*"once", "enter")
        await until(pilot, lambda: "pbx" in added(engines))
        assert memory_keyring.get_password("softphone", "pbx") is None


@async_test
async def test_account_editor_writes_config_and_keyring(memory_keyring: Any, home: Any) -> None:
    app, engines = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: getattr(app.focused, "id", None) == "name")
        await pilot.press(*"office", "tab", *"+14155550111", "tab", *"acme.sip.twilio.com")
        app.screen.query_one("#password").value = "editor-pw"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "office" in added(engines))
        saved = load_settings()
        office = saved.accounts["office"]
        assert office.provider == "twilio-domain"
        assert office.username == "+14155550111" and office.domain == "acme.sip.twilio.com"
        config_text = (home / "config" / "softphone" / "config.toml").read_text()
        assert "editor-pw" not in config_text  # the password is never in the file
        assert memory_keyring.get_password("softphone", "office") == "editor-pw"
        assert added(engines)["office"].password == "editor-pw"
        assert "office" in app.model.accounts


@async_test
async def test_account_editor_refuses_provider_errors(memory_keyring: Any, home: Any) -> None:
    app, engines = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines)
        app.push_screen(AccountEditor(provider="twilio-domain"))
        await until(pilot, lambda: getattr(app.focused, "id", None) == "name")
        # A trunk termination URI in a SIP Domain account: the provider rules say so.
        await pilot.press(*"office", "tab", *"+14155550111", "tab", *"acme.pstn.twilio.com")
        app.screen.query_one("#password").value = "pw"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, AccountEditor)
        problems = str(app.screen.query_one("#problems").render())
        assert "twilio-trunk" in problems
        assert not (home / "config" / "softphone" / "config.toml").exists()
        assert memory_keyring.get_password("softphone", "office") is None


@async_test
async def test_lab_accounts_are_not_stored(memory_keyring: Any, home: Any) -> None:
    app, engines = make_app(extra=[(LAB, "alice-pw")], title="softphone lab")
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        assert added(engines)["lab"].password == "alice-pw"
        assert app.title == "softphone lab"
        await pilot.press("ctrl+o")  # edit: refused, it belongs to the lab run
        await pilot.pause()
        assert not isinstance(app.screen, AccountEditor)
    assert memory_keyring.entries == {}
    assert not (home / "config" / "softphone" / "config.toml").exists()
