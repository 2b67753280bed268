"""Key bindings by id (defaults, overrides from config, the help screen) and theme files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from softphone.config import Settings
from softphone.ui import keymap
from softphone.ui.screens.help import key_table
from softphone.ui.theming import (
    DEFAULT_THEME,
    FALLBACK_THEME,
    load_theme_file,
    load_themes,
    shipped_theme_dir,
)
from tests.ui.harness import SIZE, TWILIO, async_test, call, make_app, started, until


def test_every_binding_has_a_unique_id_and_key() -> None:
    ids = [s.id for s in keymap.KEYS]
    keys = [s.key for s in keymap.KEYS]
    assert len(ids) == len(set(ids)) and len(keys) == len(set(keys))
    assert all(b.id for b in keymap.bindings())


def test_overrides_are_checked() -> None:
    good, problems = keymap.check_overrides(
        {"hold": "f12", "nope": "x", "mute": " ", "log.filter": "g"}, others={"log.filter"}
    )
    assert good == {"hold": "f12", "log.filter": "g"}
    assert len(problems) == 2 and "'nope'" in problems[0] and "mute: empty" in problems[1]
    # Taking another binding's key: the override loses, both keep working.
    good, problems = keymap.check_overrides({"hold": "f3"})
    assert good == {} and "already the key of hangup" in problems[0]


@async_test
async def test_remapped_key_works_and_the_old_one_does_not(memory_keyring: Any) -> None:
    memory_keyring.set_password("softphone", "work", "secret")
    app, engines = make_app([TWILIO], settings=Settings(keys={"hangup": "f12"}))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        engines.engine.emit(call(1))
        await pilot.press("f3")
        await pilot.pause()
        assert ("hangup", (1,)) not in engines.engine.commands
        await pilot.press("f12")
        await until(pilot, lambda: ("hangup", (1,)) in engines.engine.commands)
        assert app.key_of("hangup") == "f12"


@async_test
async def test_bad_override_is_one_notice() -> None:
    app, engines = make_app(settings=Settings(keys={"hangupp": "f12"}))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines)
        await until(pilot, lambda: bool(app._notifications))
        texts = [n.message for n in app._notifications]
        assert len(texts) == 1 and "'hangupp' is not a binding id" in texts[0]


@async_test
async def test_help_lists_every_key_with_its_id_and_overrides() -> None:
    app, engines = make_app(settings=Settings(keys={"hold": "f12"}))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines)
        await pilot.press("f1")
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        table = key_table(app.keys, app.other_keys)  # what the screen shows
        text = "\n".join(str(cell) for column in table.columns for cell in column.cells)
        for spec in keymap.KEYS:
            assert spec.id in text
        assert "f12 (remapped)" in text
        assert "log.filter" in text  # the SIP log pane's keys are listed too
        await pilot.press("f1")  # the help key closes help
        await until(pilot, lambda: type(app.screen).__name__ == "MainScreen")


@async_test
async def test_settings_change_theme_and_key_and_save(home: Path) -> None:
    app, engines = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines)
        await pilot.press("f10")
        await until(pilot, lambda: type(app.screen).__name__ == "SettingsScreen")
        screen = app.screen
        screen.query_one("#theme").value = "softphone-amber"  # type: ignore[attr-defined]
        screen.query_one("#key-mute").value = "f11"  # type: ignore[attr-defined]
        screen.query_one("#audio-output").value = "USB Headset"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: type(app.screen).__name__ == "MainScreen")
        assert app.theme == "softphone-amber"
        assert app.key_of("mute") == "f11"
    text = (home / "config" / "softphone" / "config.toml").read_text()
    assert 'theme = "softphone-amber"' in text
    assert 'mute = "f11"' in text and 'output = "USB Headset"' in text


def test_three_shipped_themes_load() -> None:
    shipped = shipped_theme_dir()
    assert shipped is not None
    found = load_themes([shipped])
    assert found.problems == []
    assert {"softphone-dark", "softphone-light", "softphone-amber"} <= set(found.themes)
    assert found.choose(None) == DEFAULT_THEME


def test_broken_theme_files_are_reported_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('name = "a"\nprimary = "#00ff00"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text("name = \n", encoding="utf-8")
    (tmp_path / "c.toml").write_text('name = "c"\nprimary = "#0f0"\ncolour = "x"\n')
    (tmp_path / "d.toml").write_text('name = "d"\nprimary = "red"\ndark = "yes"\n')
    found = load_themes([tmp_path])
    assert set(found.themes) == {"a"}
    assert len(found.problems) == 3
    assert found.choose("b") == FALLBACK_THEME
    notice = found.notice()  # one notice for the three files and the fallback
    assert notice is not None
    for part in (
        "b.toml: not valid TOML",
        "c.toml: unknown key(s) colour",
        "d.toml: dark must be true",
        "theme 'b' not found; using textual-dark",
    ):
        assert part in notice
    assert load_theme_file(tmp_path / "a.toml").primary == "#00ff00"


@async_test
async def test_new_audio_devices_go_to_the_engine_at_once() -> None:
    app, engines = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines)
        await pilot.press("f10")
        await until(pilot, lambda: type(app.screen).__name__ == "SettingsScreen")
        app.screen.query_one("#audio-input").value = "USB Headset"  # type: ignore[attr-defined]
        app.screen.query_one("#audio-output").value = "USB Headset"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await until(
            pilot,
            lambda: ("set_audio_devices", ("USB Headset", "USB Headset", None))
            in engines.engine.commands,
        )
        assert app.settings.audio.output == "USB Headset"


@async_test
async def test_command_palette_offers_the_actions() -> None:
    app, engines = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        for title in (
            "Answer",
            "Hang up",
            "Hold",
            "Mute",
            "Keypad",
            "Transfer",
            "Dial",
            "Ladder",
            "Settings",
            "New account",
            "Help",
            "Quit",
        ):
            assert title in commands, sorted(commands)
        assert "f7" in commands["Transfer"].help  # the key is shown next to the action
        await commands["Help"].callback()
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
