"""Command-line entry point (filled in as the subcommands land)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run the softphone command line."""
    return 0
