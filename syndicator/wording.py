"""Counts in sentences an operator reads (logs, status, preview)."""

from __future__ import annotations


def counted(number: int, word: str) -> str:
    """``number`` ``word``, in the plural unless one: "1 entry", "2 entries", "0 new stories"."""
    if number == 1:
        return f"1 {word}"
    plural = word[:-1] + "ies" if word.endswith("y") else word + "s"
    return f"{number} {plural}"
