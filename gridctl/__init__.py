"""gridctl: why your calls to The Grid fail, and what to change."""

__version__ = "0.1.0"
