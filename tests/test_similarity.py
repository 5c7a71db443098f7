"""similarity: what clustering compares (words in any script, leads, MinHash signatures)."""

from __future__ import annotations

import hashlib

import pytest

from syndicator import similarity

TEXT = (
    "Seoul has opened its city-wide digital twin to the member cities of the organisation, "
    "officials said."
)


def test_words_fold_case_and_punctuation_and_pair_unspaced_scripts() -> None:
    assert similarity.words("Seoul’s “Digital-Twin”, ＳＥＯＵＬ!") == [
        "seoul", "s", "digital", "twin", "seoul"
    ]  # fmt: skip
    assert similarity.words("首尔数字孪生") == ["首尔", "尔数", "数字", "字孪", "孪生"]
    assert similarity.words("서울시 스마트 도시") == [
        "서울시",
        "스마트",
        "도시",
    ]  # Hangul has spaces
    assert similarity.words("AI城市 2026") == ["ai", "城市", "2026"]


@pytest.mark.parametrize(
    ("title", "cleaned"),
    [
        ("PRESS RELEASE: Seoul opens twin", "Seoul opens twin"),
        ("[Press release] Seoul opens twin", "Seoul opens twin"),
        ("Seoul opens twin | SmartCitiesWorld", "Seoul opens twin"),
        ("Seoul opens twin :: WeGO", "Seoul opens twin"),
        ("Smart Mobility Webinar #3 - Part 2", "Smart Mobility Webinar #3 - Part 2"),
        ("News", "News"),  # nothing would be left: keep the title
        ("보도자료: 서울 디지털 트윈", "서울 디지털 트윈"),
    ],
)
def test_clean_title(title: str, cleaned: str) -> None:
    assert similarity.clean_title(title) == cleaned


def test_signature_round_trip_and_numbers() -> None:
    sig = similarity.decode(similarity.signature_of("Smart Mobility Webinar #03", TEXT))
    other = similarity.decode(similarity.signature_of("Smart mobility webinar 3", TEXT))
    assert sig.title_numbers == other.title_numbers and len(sig.title_numbers) == 1
    assert sig.title_words == other.title_words
    assert len(sig.minhash) == 4 * similarity.PERMUTATIONS
    assert sig.bands() == other.bands() and len(sig.bands()) == similarity.BANDS


def test_excerpt_lead_is_contained_in_the_full_text() -> None:
    more = " The platform models buildings, traffic, air quality and energy use in every district."
    full = similarity.decode(similarity.signature_of("T", TEXT + more))
    excerpt = similarity.decode(similarity.signature_of("T", TEXT[:60] + "… Read more"))
    assert similarity.containment(excerpt.lead, full.lead) == 1.0
    assert similarity.jaccard(excerpt.lead, full.lead) < 0.5


def test_too_little_text_has_no_minhash() -> None:
    assert similarity.decode(similarity.signature_of("Title here", "two words")).minhash == b""


def test_stored_signatures_do_not_change_between_versions() -> None:
    # Signatures are stored: a change of hashing, seeds or layout must come with a new
    # _SIGNATURE_VERSION and a migration, never silently.
    sig = similarity.signature_of("PRESS RELEASE: Seoul opens its digital twin | WeGO", TEXT)
    assert hashlib.sha256(sig).hexdigest()[:16] == "2f3b23c8c79246ed"
    with pytest.raises(ValueError, match="unknown signature version"):
        similarity.decode(b"\x09" + sig[1:])
