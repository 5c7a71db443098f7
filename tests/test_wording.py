"""Counts in the sentences operators read."""

from __future__ import annotations

import pytest

from syndicator.wording import counted


@pytest.mark.parametrize(
    ("number", "word", "expected"),
    [
        (0, "entry", "0 entries"),
        (1, "entry", "1 entry"),
        (2, "new story", "2 new stories"),
        (1, "new story", "1 new story"),
        (3, "guid", "3 guids"),
        (1, "guid", "1 guid"),
    ],
)
def test_counted(number: int, word: str, expected: str) -> None:
    assert counted(number, word) == expected
