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

Signatures are stored, so every byte of them is fixed: tests/test_similarity.py pins
digests of varied texts and keeps the straightforward token-by-token ``words`` and lead
beside the faster code here (per-token work in C through ``map``, numpy on whole arrays,
only the start of a long text folded), and compares them on generated texts.
"""

from __future__ import annotations

import re
import struct
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import filterfalse
from operator import add

import numpy as np
from numpy.typing import NDArray

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
_CHARS_PER_TOKEN = 12  # a guess with room: English text has 6-7, with its space
_TRAILER_WORDS = tuple(trailer.split() for trailer in _TRAILERS)

# Multiply-add-shift hashing of 32-bit values (Dietzfelbinger): 64-bit odd multipliers,
# high 32 bits kept. Fixed seed: signatures are stored and must compare across runs.
_RANDOM = np.random.default_rng(20261125)
_MULTIPLIERS = (_RANDOM.integers(1, 2**63, PERMUTATIONS, dtype=np.uint64) << np.uint64(1)) | 1
_OFFSETS = _RANDOM.integers(0, 2**63, PERMUTATIONS, dtype=np.uint64)
_MIX = tuple(  # odd 64-bit constants
    np.uint64(m) for m in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)
)
_HIGH = np.uint64(32)  # the shift that keeps a 64-bit product's high 32 bits
_NO_HASHES = np.zeros(0, np.uint64)  # shared by every empty text: never written
_NO_HASHES.flags.writeable = False


@dataclass(frozen=True, slots=True)
class Signature:
    """The decoded signature of one entry (see the module docstring)."""

    title_words: frozenset[int]
    title_numbers: frozenset[int]
    lead: frozenset[int]  # hashed word 3-grams of the text's first LEAD_WORDS words
    minhash: bytes  # PERMUTATIONS little-endian uint32, b"" when the text is too short

    def bands(self) -> list[bytes]:
        """LSH keys: band number + that band's rows of the MinHash."""
        return [bytes((band,)) + rows for band, rows in enumerate(band_rows(self.minhash))]


def band_rows(minhash: bytes) -> list[bytes]:
    """The MinHash cut into its ``BANDS`` bands of ``ROWS`` rows; none without a MinHash."""
    return [minhash[start : start + _BAND_BYTES] for start in _BAND_STARTS] if minhash else []


_BAND_BYTES = 4 * ROWS
_BAND_STARTS = range(0, BANDS * _BAND_BYTES, _BAND_BYTES)


EMPTY = Signature(frozenset(), frozenset(), frozenset(), b"")  # an entry stored without one


def words(text: str, limit: int | None = None) -> list[str]:
    """Folded words of ``text`` in any script (NFKC, case-folded, punctuation dropped).

    With ``limit``, only the words of the first ``limit`` space-separated tokens.
    """
    return _words(text, limit)[0]


def _words(text: str, limit: int | None) -> tuple[list[str], int]:
    """``words`` and how many tokens they came from."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # maxsplit: the tokens past ``limit`` are never made (a long text's rest stays one string)
    tokens = folded.split() if limit is None else folded.split(maxsplit=limit)[:limit]
    # A token is a word when it is all letters and digits (most are: checked in C, by map);
    # Python only touches the others: without their edge punctuation, they may be one, else
    # ``_WORD`` finds their words. Most of them give one word, put in the token's place.
    whole = list(map(str.isalnum, tokens))
    result = tokens
    if not all(whole):
        split: list[tuple[int, list[str]]] = []  # tokens of other than one word
        start = 0
        for _ in range(whole.count(False)):
            index = whole.index(False, start)
            start = index + 1
            bare = tokens[index].strip(_EDGE_PUNCTUATION)
            if bare.isalnum():
                tokens[index] = bare
                continue
            found = _WORD.findall(bare)
            if len(found) == 1:
                tokens[index] = found[0]
            else:
                split.append((index, found))
        if split:
            result = []
            start = 0
            for index, found in split:
                result += tokens[start:index]
                result += found
                start = index + 1
            result += tokens[start:]
    if folded.isascii() or not any(map(_UNSPACED.search, filterfalse(str.isascii, result))):
        return result, len(tokens)
    return _with_unspaced_split(result), len(tokens)


def _with_unspaced_split(found: list[str]) -> list[str]:
    """``found`` with each word that has unspaced script cut by ``_split_unspaced``."""
    search = _UNSPACED.search
    runs = [
        (i, run) for i, word in enumerate(found) if not word.isascii() and (run := search(word))
    ]
    result: list[str] = []
    start = 0
    for index, run in runs:
        result += found[start:index]
        word = found[index]
        if run.end() - run.start() == len(word) > 1:  # all of it: its character pairs
            result += map(add, word[:-1], word[1:])
        else:
            result += _split_unspaced(word)
        start = index + 1
    result += found[start:]
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


def _number_of(word: str) -> str | None:
    """The number a word holds, written one way: "03" is "3", "3,500" is "3500", "12/05"
    is "12.5"; None when it holds no digit."""
    if word.isdecimal():
        return str(int(word))
    if _DIGIT.search(word) is None:
        return None
    parts = _NUMBER_PART.findall(_THOUSANDS.sub("", word))
    return ".".join(map(str, map(int, parts)))


def _lead_words(text: str, limit: int) -> list[str]:
    # Words are rarely longer than 30 characters: the start of a long text is enough.
    head = text[: limit * 30]
    found = None
    if len(head) > limit * _CHARS_PER_TOKEN:
        # Most of the head is past the first limit + 1 tokens: fold (NFKC, case) only the
        # text up to a space that likely follows them. Folding a text cut at a space gives
        # the start of the whole text's folding (a space stays a space, and it composes
        # with nothing), so its first tokens are the head's when it has enough of them.
        cut = head.rfind(" ", 0, limit * _CHARS_PER_TOKEN)
        if cut > 0:
            found, tokens = _words(head[:cut], limit + 1)
            if tokens <= limit:
                found = None  # too few: the guess cut into them
    if found is None:
        found = words(head, limit + 1)
    if len(found) > limit:
        return found[:limit]
    # Drop an excerpt's "Read more" and the word an ellipsis may have cut short, so they do
    # not count against containment in the full text.
    truncated = _TRUNCATED.search(text[-80:]) is not None
    for trailer in _TRAILER_WORDS:
        if found[-len(trailer) :] == trailer:  # words have no spaces: as their joined text
            del found[-len(trailer) :]
            break
    return found[:-1] if truncated else found


def _shingle_hashes(tokens: Sequence[str]) -> NDArray[np.uint64]:
    """32-bit hashes of the word 3-grams of ``tokens``, in order (one hash when shorter).

    Each word is hashed once; a 3-gram's hash mixes its words' hashes in order with odd
    64-bit multipliers (high bits kept), which costs less than hashing joined strings.
    """
    if not tokens:
        return _NO_HASHES
    ids = np.fromiter(map(zlib.crc32, map(str.encode, tokens)), np.uint64, len(tokens))
    if len(ids) < SHINGLE_WORDS:
        ids = np.concatenate((ids, np.zeros(SHINGLE_WORDS - len(ids), np.uint64)))
    # uint64 arithmetic wraps (mod 2**64): bits 32-63 of the exact sum, as documented.
    # In place: numpy's cost here is per call and per temporary array, not per element.
    mixed = ids[:-2] * _MIX[0]
    mixed += ids[1:-1] * _MIX[1]
    mixed += ids[2:] * _MIX[2]
    mixed >>= _HIGH
    return mixed


def _sorted_unique(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """``values`` sorted without repeats (``np.unique`` costs several times more this small)."""
    ordered = values.copy()
    ordered.sort()
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), np.bool_)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def minhash(shingle_hashes: Sequence[int]) -> bytes:
    """MinHash of a set of 32-bit shingle hashes: PERMUTATIONS uint32, little-endian."""
    return _minhash(np.fromiter(shingle_hashes, dtype=np.uint64, count=len(shingle_hashes)))


def _minhash(values: NDArray[np.uint64]) -> bytes:
    # One row per value, one column per permutation: the minimum runs down contiguous rows.
    # Keeping the high 32 bits (>> 32) commutes with the minimum, so it is done once after.
    hashed = values[:, None] * _MULTIPLIERS
    hashed += _OFFSETS
    lowest = hashed.min(axis=0)
    lowest >>= _HIGH
    return bytes(lowest.astype("<u4").tobytes())


def signature_of(title: str, text: str, *more_texts: str) -> bytes:
    """The stored signature of an entry with plain-text ``title`` and plain-text ``text``.

    ``more_texts`` (a summary beside the full text) add the shingles of their leads to the
    lead set; the MinHash is of ``text`` alone.
    """
    title_words = words(clean_title(title))
    numbers = set()
    if not all(map(str.isalpha, title_words)):  # else no word has a digit (most titles)
        for index, word in enumerate(title_words):
            number = None if word.isalpha() else _number_of(word)
            if number is not None:
                numbers.add(number)  # also of a word replaced by it: _number_of(number) is it
                if word[:1].isdecimal():  # "03" is "3": the same title word
                    title_words[index] = number
    lead = _lead_words(text, LEAD_WORDS)
    in_order = _shingle_hashes(lead)
    if more_texts:
        extras = (_shingle_hashes(_lead_words(extra, LEAD_WORDS)) for extra in more_texts)
        lead_hashes = _sorted_unique(np.concatenate((in_order, *extras)))
    else:
        lead_hashes = _sorted_unique(in_order)
    # The MinHash of the set of the first shingles: repeats do not change a minimum.
    head = in_order[: MINHASH_WORDS - SHINGLE_WORDS + 1]
    mh = _minhash(head) if len(lead) >= SHINGLE_WORDS + 2 else b""
    title_hashes = sorted(set(map(zlib.crc32, map(str.encode, title_words))))
    number_hashes = sorted(set(map(zlib.crc32, map(str.encode, numbers))))
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
            lead_hashes.astype("<u4").tobytes(),
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


def decode_title(signature: bytes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Only the title words' and numbers' hashes of a stored signature, each sorted without
    repeats (as stored), in tuples: cheaper than ``decode``, and the cyclic garbage collector
    stops tracking a tuple of ints (it tracks every set), which matters in an index of
    100,000 entries."""
    if not signature:
        return (), ()
    _, n_title, n_numbers, *_ = _HEADER.unpack_from(signature)
    values = struct.unpack_from(f"<{n_title + n_numbers}I", signature, _HEADER.size)
    return values[:n_title], values[n_title:]


def minhash_of(signature: bytes) -> bytes:
    """The MinHash of a stored signature (``Signature.minhash``) without decoding the rest."""
    if not signature:
        return b""
    _, n_title, n_numbers, n_lead, has_minhash = _HEADER.unpack_from(signature)
    if not has_minhash:
        return b""
    start = _HEADER.size + 4 * (n_title + n_numbers + n_lead)
    return signature[start : start + 4 * PERMUTATIONS]


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
    "band_rows",
    "clean_title",
    "containment",
    "decode",
    "decode_title",
    "jaccard",
    "minhash",
    "minhash_of",
    "signature_of",
    "title_block",
    "words",
]
