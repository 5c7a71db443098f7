"""A partner world generated from a seed: which feeds exist, and the bytes each one serves.

Deterministic: the same seed, feed count and versions give the same bytes, so nothing is
committed. Feed ``i`` is the same whatever the world size, so the first 250 feeds of a
2,000-feed world are the 250-feed world.

- formats: 5% RSS 1.0, 5% JSON Feed 1.1, the rest half RSS 2.0 and half Atom;
- kinds: 80% articles, 10% whitepapers (with PDF enclosures), 10% webinars;
- languages: English with accented names (Zürich, São Paulo, Montréal), Korean, Chinese;
- content: HTML paragraphs with relative links and images, named and numeric entities, an
  occasional script or inline handler for the sanitizer; summaries; RSS 2.0 feeds with
  relative item links, Atom feeds with ``xml:base``;
- about 3.5% of entries (feed ``i`` >= 1) are cross-feed duplicates of the same entry of feed
  ``i - 1``: half link the same page with ``www.``, a trailing slash and ``utm_*``
  parameters (a canonical URL match), half carry the same title and text 30 minutes later
  (a title match; the same text also when the two feeds are of different kinds);
- version ``v`` of a feed lists entries ``2v .. 2v + 49``, newest first: each bump adds two
  new entries and drops the two oldest, as a real feed does.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import json
import random
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ENTRIES_PER_FEED = 50
NEW_PER_CHANGE = 2
DUPLICATE_PERMILLE = 35  # of entries of feeds 1.. that repeat the same entry of the feed before
BASE_TIME = datetime(2025, 3, 1, tzinfo=UTC)
PARAGRAPH_POOL = 1500

_FORMAT_CONTENT_TYPES = {
    "rss20": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "rss10": "application/rdf+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
_EXTENSIONS = {"rss20": "rss", "atom": "atom", "rss10": "rdf", "json": "json"}

_CITIES = (
    "Seoul", "Zürich", "São Paulo", "Montréal", "Kraków", "Bogotá", "Reykjavík", "Málaga",
    "Düsseldorf", "Curitiba", "Ulaanbaatar", "Kazan", "Makati", "Surabaya", "Izmir", "Tunis",
    "Medellín", "Göteborg", "Genève", "Quebec", "Bucheon", "Chengdu", "Hangzhou", "Yogyakarta",
)  # fmt: skip
_TOPICS = (
    "smart parking", "digital twin", "open data portal", "e-government services",
    "flood early warning", "air quality sensors", "bike sharing", "5G street lighting",
    "waste collection routing", "citizen participation app", "traffic signal AI",
    "district heating", "public Wi-Fi", "building energy retrofits", "curb management",
    "autonomous shuttles", "water leak detection", "urban heat mapping", "e-procurement",
)  # fmt: skip
_VERBS = (
    "pilots", "expands", "launches", "evaluates", "opens", "funds", "scales up", "tests",
    "publishes results of", "partners on", "rethinks", "completes",
)  # fmt: skip
_WORDS = (
    "city", "residents", "platform", "budget", "council", "mobility", "network", "pilot",
    "sensors", "data", "operators", "districts", "services", "infrastructure", "partners",
    "procurement", "citizens", "resilience", "energy", "transport", "housing", "emissions",
    "maintenance", "standards", "interoperability", "privacy", "dashboard", "tender",
    "results", "neighbourhoods", "ministry", "investment", "agency", "survey", "strategy",
)  # fmt: skip
_KOREAN = (
    "서울시는 스마트시티 실증 사업을 확대한다고 밝혔다.",
    "디지털 트윈 플랫폼은 시민 참여와 도시 계획에 활용된다.",
    "교통 신호 인공지능 시범 운영 결과가 발표되었다.",
    "대기질 센서 네트워크가 모든 자치구로 확대된다.",
    "공공 와이파이와 스마트 가로등 설치가 완료되었다.",
)
_KOREAN_TITLES = ("스마트시티 실증 사업", "디지털 트윈 공개", "대기질 센서 확대", "교통 신호 AI")
_CHINESE = (
    "智慧城市建设进入新阶段，数据共享平台正式上线。",
    "杭州发布城市大脑交通治理成果报告。",
    "成都推进数字孪生城市试点，覆盖十个街道。",
    "空气质量监测网络扩展到所有区县。",
    "市民参与应用程序的下载量突破一百万。",
)
_CHINESE_TITLES = (
    "智慧城市数据平台上线",
    "城市大脑交通治理",
    "数字孪生城市试点",
    "空气质量监测扩展",
)
_AUTHORS = ("Ana Müller", "Jürgen Weiß", "Min-jun Kim", "李明", "Chloé Dubois", "José Peña")
_SECTIONS = ("news", "insights", "press", "projects", "stories")


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One partner feed of the world."""

    index: int
    feed_id: str
    path: str  # served at this path on the partner server
    format: str  # rss20, atom, rss10, json
    kind: str  # article, whitepaper, webinar
    language: str  # en, ko, zh-CN
    relative_links: bool  # item links relative to the site (RSS 2.0) or to xml:base (Atom)

    @property
    def site(self) -> str:
        return f"https://partner-{self.index:04d}.example/"

    @property
    def content_type(self) -> str:
        return _FORMAT_CONTENT_TYPES[self.format]


def feed_spec(index: int) -> FeedSpec:
    slot = index % 20
    if slot == 0:
        fmt = "rss10"
    elif slot == 1:
        fmt = "json"
    else:
        fmt = "rss20" if index % 2 == 0 else "atom"
    kind = {3: "whitepaper", 7: "webinar"}.get(index % 10, "article")
    language = {2: "ko", 5: "zh-CN"}.get(index % 7, "en")
    feed_id = f"partner-{index:04d}"
    return FeedSpec(
        index=index,
        feed_id=feed_id,
        path=f"/{feed_id}/feed.{_EXTENSIONS[fmt]}",
        format=fmt,
        kind=kind,
        language=language,
        relative_links=fmt in ("rss20", "atom") and index % 4 in (0, 1),
    )


def feed_specs(count: int) -> list[FeedSpec]:
    return [feed_spec(i) for i in range(count)]


def changed_feeds(count: int, seed: int, round_number: int, share: float = 0.1) -> list[int]:
    """The feeds (indexes, sorted) that get new entries in round ``round_number``."""
    picker = random.Random(f"{seed}:changed:{round_number}")
    return sorted(picker.sample(range(count), max(1, round(count * share))))


def duplicate_kind(seed: int, index: int, number: int) -> str | None:
    """ "url" or "title" when entry ``number`` of feed ``index`` repeats feed ``index - 1``'s."""
    if index == 0:
        return None
    roll = zlib.crc32(f"{seed}:{index}:{number}".encode()) % 2000
    if roll >= DUPLICATE_PERMILLE * 2:
        return None
    return "url" if roll % 2 == 0 else "title"


def origin(seed: int, index: int, number: int) -> int:
    """The feed whose entry ``number`` this entry repeats (itself when it is no duplicate)."""
    while duplicate_kind(seed, index, number) is not None:
        index -= 1
    return index


def expected_counts(seed: int, versions: Sequence[int]) -> tuple[int, int]:
    """(entries, stories) a store holds after seeing every feed at ``versions[i]`` (and all
    earlier versions): every duplicate chain whose entries are present is one story."""
    entries = 0
    stories: set[tuple[int, int]] = set()
    for index, version in enumerate(versions):
        for number in range(ENTRIES_PER_FEED + NEW_PER_CHANGE * version):
            entries += 1
            stories.add(_story_of(seed, versions, index, number))
    return entries, len(stories)


def _story_of(seed: int, versions: Sequence[int], index: int, number: int) -> tuple[int, int]:
    # Walk down the duplicate chain while the feed before also holds this entry number.
    while duplicate_kind(seed, index, number) is not None:
        previous = index - 1
        if number >= ENTRIES_PER_FEED + NEW_PER_CHANGE * versions[previous]:
            break  # the entry it repeats was never fetched: the chain starts here
        index = previous
    return index, number


@dataclass(frozen=True, slots=True)
class _Entry:
    guid: str
    link: str  # absolute
    title: str
    summary: str  # HTML
    content: str  # HTML
    published: datetime
    author: str
    categories: tuple[str, ...]
    image: str
    enclosure: tuple[str, int] | None


class World:
    """Feed bytes for a seed. Paragraphs come from a pool built once; entries pick from it."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        maker = random.Random(f"{seed}:paragraphs")
        self._paragraphs = [_paragraph(maker, k) for k in range(PARAGRAPH_POOL)]

    # -- entries -----------------------------------------------------------------------

    def _link(self, index: int, number: int) -> str:
        kind = duplicate_kind(self.seed, index, number)
        if kind == "url":
            source = self._link(index - 1, number).replace("https://", "http://www.", 1)
            return f"{source}/?utm_source=partner-{index:04d}&utm_medium=rss"
        section = _SECTIONS[(index + number) % len(_SECTIONS)]
        return f"https://partner-{index:04d}.example/{section}/2025/story-{index}-{number}"

    def _title(self, index: int, number: int, language: str) -> str:
        home = feed_spec(origin(self.seed, index, number))
        first = origin(self.seed, index, number)
        if home.language == "ko":
            return f"{_KOREAN_TITLES[number % 4]} {first + 1}-{number + 1}호"
        if home.language == "zh-CN":
            return f"{_CHINESE_TITLES[number % 4]}（第{first + 1}.{number + 1}期）"
        city = _CITIES[(first * 7 + number) % len(_CITIES)]
        verb = _VERBS[(first + number * 3) % len(_VERBS)]
        topic = _TOPICS[(first * 3 + number) % len(_TOPICS)]
        return f"{city} {verb} {topic} \u2014 \u201cissue\u201d {first + 1}.{number + 1}"

    def _published(self, index: int, number: int) -> datetime:
        first = origin(self.seed, index, number)
        when = BASE_TIME + timedelta(hours=3 * number, minutes=first % 60)
        return when + timedelta(minutes=30 * (index - first))

    def entry(self, spec: FeedSpec, number: int) -> _Entry:
        index = spec.index
        # A copy carries its original's text, as a syndicated press release does (a copy in
        # a feed of another kind joins its story only by the same title and text).
        first = origin(self.seed, index, number)
        picker = random.Random(zlib.crc32(f"{self.seed}:{first}:{number}".encode()))
        title = self._title(index, number, spec.language)
        link = self._link(index, number)
        pool = self._paragraphs
        paragraphs = [pool[picker.randrange(PARAGRAPH_POOL)] for _ in range(1 + number % 2)]
        if spec.language == "ko":
            paragraphs.insert(0, f'<p lang="ko">{picker.choice(_KOREAN)} {title}</p>')
        elif spec.language == "zh-CN":
            paragraphs.insert(0, f'<p lang="zh">{picker.choice(_CHINESE)}{title}</p>')
        image = f"/media/{index}/{number}.jpg"
        lead = (
            f'<p><img src="{image}" alt="{html.escape(title)}" width="640" height="360"> '
            f'{html.escape(title)} &mdash; read the <a href="/about/press">press note</a>.</p>'
        )
        words = f"{picker.choice(_WORDS)} &amp; {picker.choice(_WORDS)}"
        summary = f"<p>{html.escape(title)}: {words} update.</p>"
        enclosure = None
        if spec.kind == "whitepaper":
            enclosure = (
                f"https://partner-{index:04d}.example/files/report-{number}.pdf",
                1_048_576 + number,
            )
        return _Entry(
            guid=f"partner-{index:04d}-entry-{number}",
            link=link,
            title=title,
            summary=summary,
            content=lead + "".join(paragraphs),
            published=self._published(index, number),
            author=_AUTHORS[(index + number) % len(_AUTHORS)],
            categories=(_TOPICS[(index + number) % len(_TOPICS)], spec.kind),
            image=f"{spec.site.rstrip('/')}{image}",
            enclosure=enclosure,
        )

    # -- feeds -------------------------------------------------------------------------

    def numbers(self, version: int) -> range:
        """Entry numbers listed by ``version`` of a feed, oldest first."""
        start = NEW_PER_CHANGE * version
        return range(start, start + ENTRIES_PER_FEED)

    def body(self, spec: FeedSpec, version: int = 0) -> bytes:
        entries = [self.entry(spec, n) for n in reversed(self.numbers(version))]
        writer = {"rss20": _rss20, "atom": _atom, "rss10": _rss10, "json": _json_feed}
        return writer[spec.format](spec, entries).encode("utf-8")

    def validators(self, spec: FeedSpec, version: int, body: bytes) -> tuple[str, str]:
        """(ETag, Last-Modified) of a feed version."""
        newest = self._published(spec.index, max(self.numbers(version)))
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        return etag, email.utils.format_datetime(newest, usegmt=True)


def _paragraph(maker: random.Random, number: int) -> str:
    """About 60 words of HTML: two links (one relative), emphasis, entities, accents."""
    words = [maker.choice(_WORDS) for _ in range(maker.randrange(60, 86))]
    city = maker.choice(_CITIES)
    topic = maker.choice(_TOPICS)
    words[0] = f"In {city}, the"
    words[5] = f'<a href="/topics/{topic.replace(" ", "-")}">{topic}</a>'
    words[15] = f"<strong>{words[15]}</strong>"
    words[25] = words[25] + " &amp; " + maker.choice(_WORDS)
    words[35] = f"city&#8217;s {words[35]}"
    words[45] = f'<a href="https://www.we-gov.org/news/{number}?utm_source=feed">WeGO</a>'
    text = (
        " ".join(words)
        + f". Caf\u00e9 r\u00e9sum\u00e9 for {city} \u2014 na\u00efve co\u00f6peration."
    )
    shape = number % 10
    if shape == 0:
        image = f'<img src="images/figure-{number}.png" alt="{city}">'
        return f"<figure>{image}<figcaption>{city}</figcaption></figure><p>{text}</p>"
    if shape == 1:
        half = len(words) // 2
        items = " ".join(words[:half]), " ".join(words[half:])
        return f"<ul><li>{items[0]}</li><li>{items[1]}</li></ul>"
    if shape == 2:  # a share widget the sanitizer must remove
        return f'<p onclick="track({number})">{text}</p><script>track({number})</script>'
    if shape == 3:
        return f"<blockquote><p>{text}</p></blockquote>"
    if shape == 4:
        return f"<p>{_KOREAN[number % 5]} {_CHINESE[number % 5]} {text}</p>"
    return f"<p>{text}</p>"


def _x(text: str) -> str:
    return html.escape(text, quote=True)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _rfc822(moment: datetime) -> str:
    return email.utils.format_datetime(moment, usegmt=True)


def _relative(link: str, site: str) -> str:
    return "/" + link.removeprefix(site) if link.startswith(site) else link


def _rss20(spec: FeedSpec, entries: Iterable[_Entry]) -> str:
    items = []
    for e in entries:
        link = _relative(e.link, spec.site) if spec.relative_links else e.link
        permalink = spec.index % 3 == 0
        guid = (
            f'<guid isPermaLink="false">{e.guid}</guid>'
            if not permalink
            else f"<guid>{_x(e.link)}</guid>"
        )
        extra = ""
        if e.enclosure:
            url, length = e.enclosure
            extra = f'<enclosure url="{url}" length="{length}" type="application/pdf"/>'
        categories = "".join(f"<category>{_x(c)}</category>" for c in e.categories)
        items.append(
            f"<item><title>{_x(e.title)}</title><link>{_x(link)}</link>{guid}"
            f"<pubDate>{_rfc822(e.published)}</pubDate><dc:creator>{_x(e.author)}</dc:creator>"
            f"{categories}<description>{_x(e.summary)}</description>"
            f"<content:encoded>{_cdata(e.content)}</content:encoded>"
            f'<media:thumbnail url="{_x(e.image)}"/>{extra}</item>\n'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:media="http://search.yahoo.com/mrss/">\n<channel>'
        f"<title>Partner {spec.index} &amp; friends</title><link>{spec.site}</link>"
        f"<description>News from partner {spec.index}</description>"
        f"<language>{spec.language}</language><ttl>60</ttl>"
        f'<atom:link href="{spec.site}feed" rel="self" type="application/rss+xml"/>\n'
        + "".join(items)
        + "</channel></rss>\n"
    )


def _atom(spec: FeedSpec, entries: Iterable[_Entry]) -> str:
    base = f' xml:base="{spec.site}"' if spec.relative_links else ""
    items = []
    for e in entries:
        link = _relative(e.link, spec.site).lstrip("/") if spec.relative_links else e.link
        links = f'<link rel="alternate" type="text/html" href="{_x(link)}"/>'
        if e.enclosure:
            url, length = e.enclosure
            links += (
                f'<link rel="enclosure" type="application/pdf" length="{length}" href="{url}"/>'
            )
        categories = "".join(f'<category term="{_x(c)}"/>' for c in e.categories)
        stamp = e.published.isoformat()
        items.append(
            f"<entry><id>tag:partner-{spec.index:04d}.example,2025:{e.guid}</id>"
            f'<title type="text">{_x(e.title)}</title>{links}'
            f"<published>{stamp}</published><updated>{stamp}</updated>"
            f"<author><name>{_x(e.author)}</name></author>{categories}"
            f'<summary type="html">{_x(e.summary)}</summary>'
            f'<content type="html">{_x(e.content)}</content></entry>\n'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{spec.language}"{base}>'
        f"<id>{spec.site}</id><title>Partner {spec.index} news</title>"
        f'<link rel="alternate" href="{spec.site}"/><link rel="self" href="{spec.site}atom"/>'
        f"<updated>{BASE_TIME.isoformat()}</updated>\n" + "".join(items) + "</feed>\n"
    )


def _rss10(spec: FeedSpec, entries: Iterable[_Entry]) -> str:
    listed = list(entries)
    seq = "".join(f'<rdf:li rdf:resource="{_x(e.link)}"/>' for e in listed)
    items = "".join(
        f'<item rdf:about="{_x(e.link)}"><title>{_x(e.title)}</title><link>{_x(e.link)}</link>'
        f"<description>{_x(e.summary)}</description><dc:date>{e.published.isoformat()}</dc:date>"
        f"<dc:creator>{_x(e.author)}</dc:creator><dc:subject>{_x(e.categories[0])}</dc:subject>"
        f"<content:encoded>{_cdata(e.content)}</content:encoded></item>\n"
        for e in listed
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">\n'
        f'<channel rdf:about="{spec.site}"><title>Partner {spec.index} (RDF)</title>'
        f"<link>{spec.site}</link><description>RSS 1.0 partner</description>"
        f"<dc:language>{spec.language}</dc:language><items><rdf:Seq>{seq}</rdf:Seq></items></channel>\n"
        + items
        + "</rdf:RDF>\n"
    )


def _json_feed(spec: FeedSpec, entries: Iterable[_Entry]) -> str:
    items = []
    for e in entries:
        item: dict[str, object] = {
            "id": e.guid,
            "url": e.link,
            "title": e.title,
            "content_html": e.content,
            "summary": html.unescape(e.summary.removeprefix("<p>").removesuffix("</p>")),
            "image": e.image,
            "date_published": e.published.isoformat(),
            "authors": [{"name": e.author}],
            "tags": list(e.categories),
        }
        if e.enclosure:
            item["attachments"] = [
                {
                    "url": e.enclosure[0],
                    "mime_type": "application/pdf",
                    "size_in_bytes": e.enclosure[1],
                }
            ]
        items.append(item)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": f"Partner {spec.index} (JSON)",
        "home_page_url": spec.site,
        "feed_url": f"{spec.site}feed.json",
        "language": spec.language,
        "items": items,
    }
    return json.dumps(document, ensure_ascii=False, indent=1)


def versions_after(count: int, seed: int, rounds: int) -> list[int]:
    """Each feed's version after ``rounds`` rounds of ``changed_feeds``."""
    versions = [0] * count
    for round_number in range(1, rounds + 1):
        for index in changed_feeds(count, seed, round_number):
            versions[index] += 1
    return versions


def describe(specs: Iterable[FeedSpec]) -> Mapping[str, int]:
    """How many feeds of each format, for the report."""
    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec.format] = counts.get(spec.format, 0) + 1
    return counts
