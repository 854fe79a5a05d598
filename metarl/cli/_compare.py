"""`metarl compare`: the comparison protocol of shared/PROTOCOL.md (see metarl.compare)."""

from metarl.compare._cli import add_parser, main

__all__ = ["add_parser", "main"]
