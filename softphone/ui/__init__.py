"""The Textual user interface over the phone engine (design.md: ui → engine → sip).

Nothing here imports pjsua2: the real engine is created through a factory after the first
frame is on screen (run.py, bridge.py), so the UI starts fast and its tests run against the
FakeEngine. `run_tui` in run.py is the entry point other code calls.
"""
