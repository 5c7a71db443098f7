"""similarity: what clustering compares (words in any script, leads, MinHash signatures)."""

from __future__ import annotations

import hashlib
import unicodedata

import pytest
from fuzzing import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

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


# --------------------------------------------------------------------- stored signatures
# ``signature_of`` is written for speed (C-level str methods and maps, numpy); what it
# must compute is below, the straightforward way, and the digests were computed with the
# straightforward implementation (before the speed-up): a change of any byte is a change
# of stored signatures.


def _reference_words(text: str, limit: int | None = None) -> list[str]:
    """``similarity.words`` token by token (its implementation before the speed-up)."""
    result: list[str] = []
    folded = unicodedata.normalize("NFKC", text).casefold()
    tokens = folded.split() if limit is None else folded.split(maxsplit=limit)[:limit]
    for token in tokens:
        bare = token.strip(similarity._EDGE_PUNCTUATION)
        for word in (bare,) if bare.isalnum() else similarity._WORD.findall(token):
            if word.isascii() or similarity._UNSPACED.search(word) is None:
                result.append(word)
            else:
                result.extend(similarity._split_unspaced(word))
    return result


def _reference_lead_words(text: str, limit: int = similarity.LEAD_WORDS) -> list[str]:
    """``similarity._lead_words`` as it was: the words of the text's first 3,600 characters."""
    found = _reference_words(text[: limit * 30], limit + 1)
    if len(found) > limit:
        return found[:limit]
    truncated = similarity._TRUNCATED.search(text[-80:]) is not None
    for trailer in ("read the full story", "continue reading", "read more", "more"):
        size = len(trailer.split())
        if " ".join(found[-size:]) == trailer:
            del found[-size:]
            break
    return found[:-1] if truncated else found


_NEWS = (
    "Seoul has opened its city-wide digital twin to the member cities of the organisation, "
    "officials said. The platform models buildings, traffic, air quality and energy use in "
    "every district; it cost €12.5 million, and 3,500 sensors feed it every 15 minutes. "
)
_CHINESE = "智慧城市建设进入新阶段，数据共享平台正式上线。杭州发布城市大脑交通治理成果报告。"
_MIXED = "서울시는 스마트시티 실증 사업을 확대한다고 밝혔다. 東京2020年大会・カタカナ ＡＢＣ１２３ "
_ODD = "İstanbul’s straße ﬁnal café\u0301 ① ² ½ ፩ ٣ covid19 5g a_b don't «quote» \u00a0&amp; "
SIGNATURE_CASES: dict[str, tuple[str, ...]] = {
    "english": ("PRESS RELEASE: Seoul opens its digital twin | WeGO", _NEWS),
    "english-excerpt": ("Seoul opens its digital twin", _NEWS[:150] + "… Read more"),
    "english-ellipsis": ("Seoul opens its digital twin", _NEWS[:200] + " [...]"),
    "trailer": ("Seoul", "Seoul opened its twin today for all. Continue reading"),
    "full-text-and-summary": ("Webinar #03 on 12/05", _NEWS * 3, _NEWS[:120] + "…"),
    "three-texts": ("Issue 1.2.3 of 3,500", _NEWS, _CHINESE, ""),
    "numbers": ("Smart Mobility Webinar #3 - Part 2: 0.50 ① ²", "2026 03 3,500 1.2 12/05 x1.2y"),
    "chinese": ("智慧城市数据平台上线（第6.50期）", _CHINESE * 4),
    "korean-japanese": ("보도자료: 디지털 트윈 공개 3-50호", _MIXED * 5),
    "odd-characters": ("Ｗｅｂｉｎａｒ ＃３ — “issue” 1.50", _ODD * 6),
    "empty": ("", ""),
    "empty-text": ("News", ""),
    "punctuation-only": ("...", "… — !!! ((( ))) «» “” ,,, ..."),
    "one-word": ("Title", "word"),
    "two-words": ("Title", "two words"),
    "four-words": ("Title", "one two three four"),
    "five-words": ("Title", "one two three four five"),
    "repeated": ("Repeat repeat REPEAT", "the same words " * 60),
    "long": ("A long article", _NEWS * 40),
    "long-tokens": ("Long tokens", ("x" * 40 + " ") * 150),
    "long-unspaced": ("长文", _CHINESE * 120),
    "sparse-spaces": (
        "Sparse",
        "".join(f"{_NEWS[i : i + 25].replace(' ', '-')} " for i in range(0, 4000, 25)),
    ),
    # 120 tokens, then one too long for 1,440 characters: _lead_words's guess has 120.
    "guess-one-short": (
        "Cut",
        " ".join(f"w{i:09d}" for i in range(120)) + f" {'y' * 200} … Read more",
    ),
    "other-digits": ("፩3 ٣4 x፩5 ½ Ⅻ ⑽ 3ʳᵈ 1st", "፩3 and ٣4"),
}
SIGNATURE_DIGESTS: dict[str, str] = {  # sha256(signature)[:16], computed before the speed-up
    "english": "a6e2c3502723c40b",
    "english-excerpt": "652c13cb886576e0",
    "english-ellipsis": "d73683c2ae909b9e",
    "trailer": "66f41e7da39a59ae",
    "full-text-and-summary": "39db9b17eaefddcd",
    "three-texts": "a07c28e6b8a3a977",
    "numbers": "b257362ffa67b74d",
    "chinese": "a63ae785b6d5a486",
    "korean-japanese": "1206ccf4162849e3",
    "odd-characters": "51c1c9bfa6276631",
    "empty": "7c9fa136d4413fa6",
    "empty-text": "5f3ef4070c8a1dbb",
    "punctuation-only": "7c9fa136d4413fa6",
    "one-word": "b35f22f3e634007b",
    "two-words": "491504977f70e5e4",
    "four-words": "a68559291a275bcc",
    "five-words": "7a8cc29f0a331f71",
    "repeated": "4057aaf9cdd1c958",
    "long": "098072d27a24bcb5",
    "long-tokens": "316b4cd2653b1c5f",
    "long-unspaced": "97d0db70b038841e",
    "sparse-spaces": "1b0b4c696f65ec42",
    "guess-one-short": "bd6b79f07119dcec",
    "other-digits": "6d9ee7a491b780be",
}


@pytest.mark.parametrize("case", list(SIGNATURE_CASES))
def test_signatures_of_varied_texts_do_not_change(case: str) -> None:
    title, *texts = SIGNATURE_CASES[case]
    digest = hashlib.sha256(similarity.signature_of(title, *texts)).hexdigest()[:16]
    assert digest == SIGNATURE_DIGESTS[case]


def test_lead_words_of_the_varied_texts_are_the_reference_ones() -> None:
    # The cases cover both ways ``_lead_words`` reads a long text: folding only its start,
    # and (tokens too long for that guess) all of its first 3,600 characters.
    for title, *texts in SIGNATURE_CASES.values():
        assert similarity.words(title) == _reference_words(title)
        for text in texts:
            assert similarity._lead_words(text, similarity.LEAD_WORDS) == _reference_lead_words(
                text
            )


FUZZ = fuzz_settings(300)
# What makes words differ: white space of any kind, edge punctuation, number separators,
# letters beside digits, unspaced scripts (and what NFKC or case folding turns into them).
_CHARACTERS = st.sampled_from(
    [
        *"aZ09 .,;:!?\"'()[]{}“”‘’«»…-/_#&€|",
        "\n", "\t", "\u00a0", "\u3000", "\u2028", "\x1c", "\u200b", "\u00a8", "\u3099",
        "\u0301", "首", "尔", "・", "ー", "カ", "ｶ", "ﾞ", "é", "ß", "İ", "ﬁ", "Ａ", "１", "²", "①",
        "½", "፩", "٣", "서", "Σ", "\uf900", "\u1c90",
    ]
)  # fmt: skip
_PIECES = st.sampled_from(
    [
        "seoul", "3,500", "1.2", "12/05", "covid19", "don't", "(press)", "東京2020年大会",
        "首尔数字孪生", "… read more", "[…]", "continue reading", "more", "read the full story",
        " ", "  ",
    ]
)  # fmt: skip
_TEXTS = st.one_of(
    st.text(_CHARACTERS, max_size=300),
    st.lists(st.one_of(_PIECES, st.text(_CHARACTERS, max_size=6)), max_size=80).map(" ".join),
    st.lists(_PIECES, max_size=60).map("".join),
)


@FUZZ
@given(_TEXTS, st.sampled_from([None, 0, 1, 3, 121]))
def test_words_are_the_reference_words(text: str, limit: int | None) -> None:
    assert similarity.words(text, limit) == _reference_words(text, limit)


@FUZZ
@given(_TEXTS, st.integers(min_value=1, max_value=40))
def test_lead_words_are_the_reference_ones(text: str, repeat: int) -> None:
    # Repeated: long texts, past the point where ``_lead_words`` stops folding.
    long_text = text * repeat
    lead = similarity._lead_words(long_text, similarity.LEAD_WORDS)
    assert lead == _reference_lead_words(long_text)
