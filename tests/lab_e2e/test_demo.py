"""The lab's catalogue agrees with itself and with the registrar and the lab preset."""

from __future__ import annotations

from softphone import providers
from softphone.lab.registrar_cli import DEFAULT_REALM
from softphone.labapp import demo


def test_realm_and_users_match_the_registrar_and_the_preset() -> None:
    assert demo.REALM == DEFAULT_REALM == providers.LAB_REALM
    assert demo.TUI_USER in providers.LAB_USERS


def test_every_number_is_registered_by_exactly_one_far_end_process() -> None:
    accounts = [name for group in demo.PROCESSES for name in group]
    assert sorted(accounts) == sorted(d.account for d in demo.DEVICES)
    assert {n.user for n in demo.NUMBERS} == set(demo.FAR_END_USERS)
    # The forked user's phones must sit in different processes (pjsua: 482 merged request).
    multi = [d.account for d in demo.DEVICES if d.user == demo.MULTI]
    assert all(sum(a in group for a in multi) <= 1 for group in demo.PROCESSES)


def test_legend_names_every_number() -> None:
    full, short = demo.legend(5060), demo.legend(5060, short=True)
    for number in demo.NUMBERS:
        assert f"  {number.user}  " in full
        assert number.user in short
    assert "sip:127.0.0.1:5060" in full and "TLS 5061" in full


def test_far_end_users_have_passwords_distinct_from_the_people() -> None:
    users = demo.lab_users()
    assert set(users) == {*demo.DEMO_USERS, *demo.FAR_END_USERS}
    assert users["alice"] == "alice-lab-pw" and users["700"] == "700-lab-pw"
