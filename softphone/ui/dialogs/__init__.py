"""Modal dialogs: incoming call, DTMF keypad, transfer target, password prompt."""
