"""Full screens: main, account editor, settings, help (the ladder is screens/ladder.py)."""
