"""How much one document may cost; sizes written the way people read them."""

from __future__ import annotations

MB = 1_000_000


def human_size(size: int | float) -> str:
    return f"{size / MB:,.1f} MB" if size >= 100_000 else f"{int(size):,} bytes"
