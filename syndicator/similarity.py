"""What story clustering compares, and how alike two entries are. Pure functions.

An entry's *signature* is computed once where it is normalized (in the worker processes of
a pass) and stored with it, so matching never re-reads stored text:

- its title, folded and split into words in any script (a run of Chinese or Japanese
  characters, written without spaces, becomes overlapping character pairs), minus a
  "PRESS RELEASE:" style label in front and a " | Site name" segment at the end;
- the numbers in the title ("Webinar #3" and "#4" are different episodes);
- the *lead* of its text: word 3-grams of the first ``LEAD_WORDS`` words. A partner's
  summary is usually the first sentences of the other partner's full text, so comparing
  leads by containment (shared shingles over the smaller set) finds an excerpt in a full
  text where whole-text similarity would not;
- a MinHash of the first ``MINHASH_WORDS`` words' shingles, cut into ``BANDS`` bands for
  locality-sensitive hashing: two entries whose leads share most shingles share a band
  with high probability, so candidates are found without comparing every pair.

Hashes are CRC-32 of UTF-8 text: stable across processes and Python versions (``hash()``
is salted per process), and fast (C).
"""

from __future__ import annotations

import re
import struct
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

LEAD_WORDS = 120  # words of text compared when verifying a candidate
MINHASH_WORDS = 40  # words of text hashed for candidate search (an excerpt's length)
SHINGLE_WORDS = 3
PERMUTATIONS = 60
BANDS = 12  # of 5 rows: a pair sharing 80% of shingles collides in one 99%, 70%: 89%, 30%: 3%
ROWS = PERMUTATIONS // BANDS
_SIGNATURE_VERSION = 1
_HEADER = struct.Struct("<BHHHB")  # version, title words, numbers, lead shingles, has minhash

# A word: a run of letters, or a number with its inner separators ("1.2", "3,500",
# "12/05"), so "issue 1.2" and "issue 2.1" stay different.
_WORD = re.compile(r"\d+(?:[.,:/-]\d+)*|[^\W\d]+")
_DIGIT = re.compile(r"\d")  # decimal digits of any script
_NUMBER_PART = re.compile(r"\d+")
_EDGE_PUNCTUATION = ".,;:!?\"'()[]{}“”‘’«»…"  # noqa: RUF001  (around most words of a text)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# Scripts written without spaces between words: Han, Hiragana, Katakana (Hangul has spaces).
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# A label in front of the title that says what kind of text it is, not what it is about.
_LABELS = (
    r"press release|news release|media release|press statement|breaking news|breaking|"
    r"announcement|update|news|pr|comunicado de prensa|communiqué de presse|пресс-релиз|"
    r"보도자료|新闻稿|新聞稿"
)
_TITLE_LABEL = re.compile(
    rf"^\s*(?:\[\s*(?:{_LABELS})\s*\]|\(\s*(?:{_LABELS})\s*\)|(?:{_LABELS})\s*[:：|\-–—])\s*",  # noqa: RUF001
    re.IGNORECASE,
)
# " | SmartCitiesWorld", " :: WeGO", " » News": a site's name after its story's title.
_TITLE_SITE = re.compile(r"\s+(?:\||::|»)\s+[^|]*$")
# An excerpt's end: an ellipsis, maybe a "Read more"; its last word may be cut short.
_TRUNCATED = re.compile(
    r"(?:…|\.\.\.|\[…\]|\[\.\.\.\])\s*\]?\s*(?:read more|continue reading|more)?\W*$",
    re.IGNORECASE,
)
# What feeds append to an excerpt; not part of the story's text.
_TRAILERS = ("read the full story", "continue reading", "read more", "more")

# Multiply-add-shift hashing of 32-bit values (Dietzfelbinger): 64-bit odd multipliers,
# high 32 bits kept. Fixed seed: signatures are stored and must compare across runs.
_RANDOM = np.random.default_rng(20261125)
_MULTIPLIERS = (_RANDOM.integers(1, 2**63, PERMUTATIONS, dtype=np.uint64) << np.uint64(1)) | 1
_OFFSETS = _RANDOM.integers(0, 2**63, PERMUTATIONS, dtype=np.uint64)
_MIX = tuple(  # odd 64-bit constants
    np.uint64(m) for m in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)
)


@dataclass(frozen=True, slots=True)
class Signature:
    """The decoded signature of one entry (see the module docstring)."""

    title_words: frozenset[int]
    title_numbers: frozenset[int]
    lead: frozenset[int]  # hashed word 3-grams of the text's first LEAD_WORDS words
    minhash: bytes  # PERMUTATIONS little-endian uint32, b"" when the text is too short

    def bands(self) -> list[bytes]:
        """LSH keys: band number + that band's rows of the MinHash."""
        return _bands_of(self.minhash)


def _bands_of(minhash: bytes) -> list[bytes]:
    if not minhash:
        return []
    width = ROWS * 4
    return [bytes((band,)) + minhash[band * width : (band + 1) * width] for band in range(BANDS)]


EMPTY = Signature(frozenset(), frozenset(), frozenset(), b"")  # an entry stored without one


def words(text: str, limit: int | None = None) -> list[str]:
    """Folded words of ``text`` in any script (NFKC, case-folded, punctuation dropped).

    With ``limit``, only the words of the first ``limit`` space-separated tokens.
    """
    result: list[str] = []
    # Split on white space first: most tokens are plain words (str methods, in C), and the
    # regular expressions only run on the few with punctuation or unspaced scripts.
    folded = unicodedata.normalize("NFKC", text).casefold()
    # maxsplit: the tokens past ``limit`` are never made (a long text's rest stays one string)
    tokens = folded.split() if limit is None else folded.split(maxsplit=limit)[:limit]
    for token in tokens:
        bare = token.strip(_EDGE_PUNCTUATION)
        for word in (bare,) if bare.isalnum() else _WORD.findall(token):
            if word.isascii() or _UNSPACED.search(word) is None:
                result.append(word)
            else:
                result.extend(_split_unspaced(word))
    return result


def _split_unspaced(word: str) -> Iterable[str]:
    """Character pairs of the unspaced runs of ``word``; other runs stay whole words."""
    position = 0
    for run in _UNSPACED.finditer(word):
        if run.start() > position:
            yield word[position : run.start()]
        chars = run.group()
        if len(chars) == 1:
            yield chars
        else:
            yield from (chars[i : i + 2] for i in range(len(chars) - 1))
        position = run.end()
    if position < len(word):
        yield word[position:]


def clean_title(title: str) -> str:
    """The title without a "PRESS RELEASE:" label in front or a " | Site" segment behind."""
    stripped = _TITLE_SITE.sub("", _TITLE_LABEL.sub("", title, count=1))
    return stripped if stripped.strip() else title


def _hash(text: str) -> int:
    return zlib.crc32(text.encode())


def _number_of(word: str) -> str | None:
    """The number a word holds, written one way: "03" is "3", "3,500" is "3500", "12/05"
    is "12.5"; None when it holds no digit."""
    if word.isdecimal():
        return str(int(word))
    if _DIGIT.search(word) is None:
        return None
    parts = _NUMBER_PART.findall(_THOUSANDS.sub("", word))
    return ".".join(str(int(part)) for part in parts)


def _lead_words(text: str, limit: int) -> list[str]:
    # Words are rarely longer than 30 characters: the start of a long text is enough.
    found = words(text[: limit * 30], limit + 1)
    if len(found) > limit:
        return found[:limit]
    # Drop an excerpt's "Read more" and the word an ellipsis may have cut short, so they do
    # not count against containment in the full text.
    truncated = _TRUNCATED.search(text[-80:]) is not None
    for trailer in _TRAILERS:
        size = len(trailer.split())
        if " ".join(found[-size:]) == trailer:
            del found[-size:]
            break
    return found[:-1] if truncated else found


def _shingle_hashes(tokens: Sequence[str]) -> list[int]:
    """32-bit hashes of the word 3-grams of ``tokens``, in order (one hash when shorter).

    Each word is hashed once; a 3-gram's hash mixes its words' hashes in order with odd
    64-bit multipliers (high bits kept), which costs less than hashing joined strings.
    """
    if not tokens:
        return []
    ids = np.fromiter((zlib.crc32(token.encode()) for token in tokens), np.uint64, len(tokens))
    if len(ids) < SHINGLE_WORDS:
        ids = np.concatenate((ids, np.zeros(SHINGLE_WORDS - len(ids), np.uint64)))
    # uint64 arithmetic wraps (mod 2**64): bits 32-63 of the exact sum, as documented.
    mixed = ids[:-2] * _MIX[0] + ids[1:-1] * _MIX[1] + ids[2:] * _MIX[2]
    return list((mixed >> np.uint64(32)).tolist())


def minhash(shingle_hashes: Sequence[int]) -> bytes:
    """MinHash of a set of 32-bit shingle hashes: PERMUTATIONS uint32, little-endian."""
    values = np.fromiter(shingle_hashes, dtype=np.uint64, count=len(shingle_hashes))
    hashed = (_MULTIPLIERS[:, None] * values[None, :] + _OFFSETS[:, None]) >> np.uint64(32)
    return bytes(hashed.min(axis=1).astype("<u4").tobytes())


def signature_of(title: str, text: str, *more_texts: str) -> bytes:
    """The stored signature of an entry with plain-text ``title`` and plain-text ``text``.

    ``more_texts`` (a summary beside the full text) add the shingles of their leads to the
    lead set; the MinHash is of ``text`` alone.
    """
    title_words = [
        _number_of(w) or w if w[:1].isdecimal() else w for w in words(clean_title(title))
    ]
    numbers = {n for n in map(_number_of, title_words) if n is not None}
    lead = _lead_words(text, LEAD_WORDS)
    in_order = _shingle_hashes(lead)
    hashes = set(in_order)
    for extra in more_texts:
        hashes.update(_shingle_hashes(_lead_words(extra, LEAD_WORDS)))
    lead_hashes = sorted(hashes)
    head = sorted(set(in_order[: MINHASH_WORDS - SHINGLE_WORDS + 1]))
    mh = minhash(head) if len(lead) >= SHINGLE_WORDS + 2 else b""
    title_hashes = sorted({_hash(w) for w in title_words})
    number_hashes = sorted({_hash(n) for n in numbers})
    return b"".join(
        (
            _HEADER.pack(
                _SIGNATURE_VERSION,
                len(title_hashes),
                len(number_hashes),
                len(lead_hashes),
                1 if mh else 0,
            ),
            struct.pack(f"<{len(title_hashes)}I", *title_hashes),
            struct.pack(f"<{len(number_hashes)}I", *number_hashes),
            struct.pack(f"<{len(lead_hashes)}I", *lead_hashes),
            mh,
        )
    )


def decode(signature: bytes) -> Signature:
    """The parts of a stored signature. Raises ValueError on an unknown version."""
    if not signature:
        return EMPTY
    version, n_title, n_numbers, n_lead, has_minhash = _HEADER.unpack_from(signature)
    if version != _SIGNATURE_VERSION:
        raise ValueError(f"unknown signature version {version}")
    values = struct.unpack_from(f"<{n_title + n_numbers + n_lead}I", signature, _HEADER.size)
    start = _HEADER.size + 4 * len(values)
    return Signature(
        title_words=frozenset(values[:n_title]),
        title_numbers=frozenset(values[n_title : n_title + n_numbers]),
        lead=frozenset(values[n_title + n_numbers :]),
        minhash=signature[start : start + 4 * PERMUTATIONS] if has_minhash else b"",
    )


def decode_title(signature: bytes) -> tuple[frozenset[int], frozenset[int]]:
    """Only the title words and numbers of a stored signature (cheaper than ``decode``)."""
    if not signature:
        return EMPTY.title_words, EMPTY.title_numbers
    _, n_title, n_numbers, *_ = _HEADER.unpack_from(signature)
    values = struct.unpack_from(f"<{n_title + n_numbers}I", signature, _HEADER.size)
    # Most titles have no number: share one empty set (the index keeps one per entry).
    numbers = frozenset(values[n_title:]) if n_numbers else EMPTY.title_numbers
    return frozenset(values[:n_title]), numbers


def bands(signature: bytes) -> list[bytes]:
    """LSH keys of a stored signature (``Signature.bands``) without decoding the rest."""
    if not signature:
        return []
    _, n_title, n_numbers, n_lead, has_minhash = _HEADER.unpack_from(signature)
    if not has_minhash:
        return []
    start = _HEADER.size + 4 * (n_title + n_numbers + n_lead)
    return _bands_of(signature[start : start + 4 * PERMUTATIONS])


def title_block(signature: bytes, min_words: int) -> bytes | None:
    """Equal for titles with the same words, in any order; None under ``min_words`` words."""
    if not signature:
        return None
    _, n_title, *_ = _HEADER.unpack_from(signature)
    if n_title < min_words:
        return None
    return signature[_HEADER.size : _HEADER.size + 4 * n_title]  # stored sorted


def containment(a: frozenset[int], b: frozenset[int]) -> float:
    """Shared elements over the smaller set: 1.0 when one is inside the other."""
    smaller = min(len(a), len(b))
    return len(a & b) / smaller if smaller else 0.0


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


__all__ = [
    "BANDS",
    "EMPTY",
    "LEAD_WORDS",
    "Signature",
    "bands",
    "clean_title",
    "containment",
    "decode",
    "decode_title",
    "jaccard",
    "minhash",
    "signature_of",
    "title_block",
    "words",
]
