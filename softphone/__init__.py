"""softphone: a terminal softphone and SIP registration client with a built-in lab."""

__version__ = "0.1.0"
