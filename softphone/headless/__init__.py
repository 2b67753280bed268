"""The headless phone: `softphone register`, `call` and `listen` for scripts and terminals.

Why headless commands: a phone you can script is a phone you can test, monitor and benchmark.
Each command runs one Engine for one account, prints progress in plain words (or JSON lines
with `--json`), and ends with an exit code a script can test: 0 done, 1 the network or the
other party refused (the reason and SIP code are printed), 2 bad input, 130 interrupted
(after hanging up and unregistering). Modules: `session` (account, password, engine, trace,
history: the plumbing the commands share), `output` (human and JSON printing, plain-language
call outcomes), `parsing` (arguments and input checks), `register`, `call`, `listen` (the
commands); softphone.phone_cli is the frame they run in.
"""
