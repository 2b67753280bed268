"""Every key binding of the TUI, each with an id the user can remap in config.toml.

Why one table: the help screen, the command palette, the footer and `[settings.keys]` must
agree on what a binding is called and which key it has, so they all read this list. Textual
applies the overrides natively (App.set_keymap swaps the key of every Binding with that id);
this module checks them first, so a misspelt id or an empty key is one notice, not a silent
no-op. Call-control keys are function keys on purpose: the dialer and the dialogs are text
inputs that own every printable key and the usual ctrl+letter editing keys (Input binds
ctrl+a/e/d/k/u/w/x/c/v).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One remappable binding: `id` is what users write in [settings.keys]."""

    id: str
    key: str
    action: str
    label: str  # the footer's word for it
    description: str  # the help screen's and the command palette's sentence
    palette: bool = True  # offered in the command palette
    show: bool = True  # shown in the footer


# fmt: off
KEYS: tuple[KeySpec, ...] = (
    KeySpec("help", "f1", "help", "Help", "Help: every key and its id"),
    KeySpec("answer", "f2", "answer", "Answer", "Answer the ringing call"),
    KeySpec("hangup", "f3", "hangup", "Hang up", "Hang up the selected call"),
    KeySpec("hold", "f4", "hold", "Hold", "Hold or resume the selected call"),
    KeySpec("mute", "f5", "mute", "Mute", "Mute or unmute the microphone on the selected call"),
    KeySpec("dtmf", "f6", "dtmf", "Keypad", "DTMF keypad for the selected call (RFC 4733)"),
    KeySpec("transfer", "f7", "transfer", "Transfer", "Blind transfer (REFER) of the call"),
    KeySpec("reject", "f8", "reject", "Reject", "Reject the ringing call (486 Busy Here)"),
    KeySpec("ladder", "f9", "ladder", "Ladder", "Ladder of the selected call, or of all calls"),
    KeySpec("settings", "f10", "settings", "Settings", "Settings: theme, audio devices, keys"),
    KeySpec("dial", "ctrl+g", "dial", "Dial", "Dial the number in the dialer", show=False),
    KeySpec("focus_dialer", "ctrl+l", "focus_dialer", "Dialer", "Go to the dialer", show=False),
    KeySpec("new_account", "ctrl+n", "new_account", "New account", "Add an account", show=False),
    KeySpec("edit_account", "ctrl+o", "edit_account", "Edit account",
            "Edit the selected account", show=False),
    KeySpec("register", "ctrl+r", "register", "Register",
            "Register the selected account again, or give its password", show=False),
    KeySpec("palette", "ctrl+p", "command_palette", "Palette", "Command palette", palette=False),
    KeySpec("quit", "ctrl+q", "quit", "Quit", "Quit (hangs up and unregisters first)"),
)
# fmt: on
BY_ID: dict[str, KeySpec] = {spec.id: spec for spec in KEYS}


def bindings() -> list[Binding]:
    """The Textual bindings, with ids so App.set_keymap can remap them. Priority: they work
    while a text input has the focus and on top of the dialogs (an incoming call can be
    answered from the settings screen)."""
    return [
        Binding(
            s.key, s.action, s.label, show=s.show, id=s.id, priority=True, tooltip=s.description
        )
        for s in KEYS
    ]


@dataclass(frozen=True, slots=True)
class OtherKey:
    """A binding with an id that another widget defines (the SIP log pane's log.*)."""

    id: str
    key: str
    description: str


def other_keys(classes: Iterable[type]) -> list[OtherKey]:
    """Every Binding with an id in the BINDINGS of `classes` (and their bases), except ours."""
    found: dict[str, OtherKey] = {}
    for cls in classes:
        for klass in cls.__mro__:
            for item in vars(klass).get("BINDINGS", ()):
                if isinstance(item, Binding) and item.id and item.id not in BY_ID:
                    found.setdefault(item.id, OtherKey(item.id, item.key, item.description))
    return sorted(found.values(), key=lambda k: k.id)


def check_overrides(
    overrides: Mapping[str, str], others: Collection[str] = ()
) -> tuple[dict[str, str], list[str]]:
    """The usable overrides and one message per unusable one (unknown id, empty key,
    or two of our ids given the same key). Ids in `others` (other widgets' bindings) pass
    through as they are: Textual applies them, their widget decides what clashes."""
    good: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, key in overrides.items():
        if binding_id not in BY_ID and binding_id not in others:
            known = ", ".join(sorted(BY_ID))
            problems.append(f"[settings.keys] {binding_id!r} is not a binding id ({known})")
        elif not key.strip():
            problems.append(f"[settings.keys] {binding_id}: empty key")
        else:
            good[binding_id] = key.strip()
    # A key used twice: the user's override loses (the defaults never clash), so the
    # binding that was remapped keeps its default and the other keeps working.
    clash = True
    while clash:
        clash = False
        users: dict[str, list[str]] = {}
        for spec in KEYS:
            for key in effective_key(spec, good).split(","):
                users.setdefault(key.strip(), []).append(spec.id)
        for key, ids in users.items():
            remapped = [i for i in ids if i in good] if len(ids) > 1 else []
            for binding_id in remapped:
                others = ", ".join(i for i in ids if i != binding_id)
                problems.append(
                    f"[settings.keys] {binding_id} = {key!r} is already the key of {others}; "
                    f"{binding_id} keeps {BY_ID[binding_id].key!r}"
                )
                del good[binding_id]
                clash = True
    return good, problems


def effective_key(spec: KeySpec, overrides: Mapping[str, str]) -> str:
    """The key (or comma-separated keys) the binding answers to with `overrides` applied."""
    return overrides.get(spec.id, spec.key)
