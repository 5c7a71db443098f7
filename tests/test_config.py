"""feeds.yaml loading: the shipped file, merging, paths, and every kind of operator mistake."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from syndicator.config import (
    DEFAULT_INTERVAL,
    DEFAULT_MAX_SIZE,
    DEFAULT_TIMEOUT,
    Config,
    ConfigError,
    Problem,
    check_config_text,
    load_config,
    parse_duration,
    parse_size,
)

REPO = Path(__file__).parents[1]
SHIPPED = REPO / "feeds.yaml"
DATA = Path(__file__).parent / "data" / "config"
BASE = Path("/srv/syndicator")

MINIMAL = """\
site:
  title: WeGO Partner Digest
  url: https://feeds.example.org/
feeds:
  - id: scw-news
    url: https://www.smartcitiesworld.net/Syndication/DF.cfm?f=7&ft=10
"""


def check(text: str) -> Config:
    return check_config_text(text, "feeds.yaml", BASE)


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        check(text)
    return info.value.problems


def only_problem(text: str) -> Problem:
    problems = problems_of(text)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def with_feed_key(line: str) -> str:
    """MINIMAL plus one more line in its feed, e.g. ``interval: 15m`` (that line is line 7)."""
    return MINIMAL + f"    {line}\n"


# --------------------------------------------------------------------------- the shipped file


def test_shipped_feeds_yaml_loads() -> None:
    config = load_config(SHIPPED)

    assert config.path == SHIPPED.resolve()
    assert config.site.title == "WeGO Partner Digest"
    assert config.site.url == "https://feeds.we-gov.org/"
    assert config.storage.database == REPO.resolve() / "syndicator.db"
    assert config.storage.output_dir == REPO.resolve() / "public"
    assert [(f.id, f.kind, f.enabled) for f in config.feeds] == [
        ("wego-news", "article", True),
        ("scw-news", "article", True),
        ("scw-whitepapers", "whitepaper", False),
        ("scw-webinars", "webinar", False),
    ]
    scw = config.feed("scw-news")
    assert scw is not None
    assert scw.url == "https://www.smartcitiesworld.net/Syndication/DF.cfm?f=7&ft=10"
    assert scw.interval == timedelta(minutes=15)
    wego = config.feed("wego-news")
    assert wego is not None
    assert wego.url == "https://we-gov.org/feed/"
    assert wego.priority > scw.priority  # WeGO's own copy of a shared press release wins
    assert all(f.url.startswith("https://") for f in config.feeds)
    assert not any(f.allow_private_networks for f in config.feeds)


def test_shipped_feed_lines_point_at_their_id() -> None:
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    for feed in load_config(SHIPPED).feeds:
        assert lines[feed.line - 1].strip() == f"- id: {feed.id}"


def test_shipped_unverified_urls_are_marked() -> None:
    """Every partner URL here is unverified: each feed says so in its comments."""
    text = SHIPPED.read_text(encoding="utf-8")
    blocks = re.split(r"\n  - id: ", text)[1:]  # one per feed (the commented example uses "#")
    assert len(blocks) == len(load_config(SHIPPED).feeds)
    for block in blocks:
        assert "confirm with the partner" in block
    assert "PLACEHOLDER" in text.split("url: https://feeds.we-gov.org/")[0]


def test_shipped_file_shows_every_key() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    keys = [
        "title:", "url:", "description:", "language:", "max_items:",
        "storage:", "database:", "output_dir:", "server:", "host:", "port:",
        "defaults:", "interval:", "timeout:", "max_size:", "allow_private_networks:",
        "feeds:", "id:", "kind:", "name:", "tags:", "enabled:", "priority:",
    ]  # fmt: skip
    assert [key for key in keys if key not in text] == []


# --------------------------------------------------------------------------- merging and paths


def test_built_in_defaults() -> None:
    config = check(MINIMAL)

    assert config.path == BASE / "feeds.yaml"
    assert config.storage.database == BASE / "syndicator.db"
    assert config.storage.output_dir == BASE / "public"
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8080)
    assert config.site.max_items == 100
    assert config.allow_private_networks is False
    (feed,) = config.feeds
    assert feed.line == 5
    assert (feed.kind, feed.name, feed.tags, feed.enabled, feed.priority) == (
        "article",
        None,
        (),
        True,
        0,
    )
    assert feed.interval == DEFAULT_INTERVAL == timedelta(minutes=30)
    assert feed.timeout == DEFAULT_TIMEOUT == timedelta(seconds=30)
    assert feed.max_size == DEFAULT_MAX_SIZE == 10 * 1024 * 1024
    assert feed.allow_private_networks is False


def test_defaults_block_and_per_feed_overrides() -> None:
    config = check(
        """\
site: {title: Digest, url: https://feeds.example.org/}
defaults:
  interval: 2h
  timeout: 90s
  max_size: 512KB
allow_private_networks: true
feeds:
  - id: inherits
    url: https://a.example.org/feed
  - id: overrides
    url: https://b.example.org/feed
    interval: 15m
    timeout: 10s
    max_size: 2MB
    allow_private_networks: false
    kind: webinar
    name: Partner Webinars
    tags: [webinars, events]
    enabled: false
    priority: -5
"""
    )
    inherits, overrides = config.feeds
    assert config.allow_private_networks is True
    assert (inherits.interval, inherits.timeout) == (timedelta(hours=2), timedelta(seconds=90))
    assert inherits.max_size == 512 * 1024
    assert inherits.allow_private_networks is True
    assert (overrides.interval, overrides.timeout) == (timedelta(minutes=15), timedelta(seconds=10))
    assert overrides.max_size == 2 * 1024 * 1024
    assert overrides.allow_private_networks is False
    assert (overrides.kind, overrides.name, overrides.tags) == (
        "webinar",
        "Partner Webinars",
        ("webinars", "events"),
    )
    assert (overrides.enabled, overrides.priority) == (False, -5)
    assert [f.id for f in config.enabled_feeds] == ["inherits"]
    assert [(f.id, f.line) for f in config.feeds] == [("inherits", 8), ("overrides", 10)]


def test_an_unlisted_feed_gets_what_a_feed_of_only_id_and_url_gets() -> None:
    config = check(
        """\
site: {title: Digest, url: https://feeds.example.org/}
defaults:
  interval: 2h
  timeout: 90s
  max_size: 512KB
  max_poll_interval: 3d
  max_entries: 40
  iframe_hosts: [player.example.org]
allow_private_networks: true
rules:
  - kind: webinar
    title: webinar
feeds:
  - id: listed
    url: https://a.example.org/feed
"""
    )
    [listed] = config.feeds
    unlisted = config.unlisted_feed("listed", "https://a.example.org/feed")
    assert unlisted == replace(listed, line=0)
    assert (unlisted.max_entries, unlisted.iframe_hosts) == (40, frozenset({"player.example.org"}))


def test_per_feed_allow_private_networks_without_top_level() -> None:
    config = check(with_feed_key("allow_private_networks: true"))
    assert config.allow_private_networks is False
    assert config.feeds[0].allow_private_networks is True


def test_empty_optional_blocks_mean_defaults() -> None:
    config = check(MINIMAL + "storage:\nserver:\ndefaults:\n")
    assert config.storage.database == BASE / "syndicator.db"
    assert config.server.port == 8080
    assert config.feeds[0].interval == DEFAULT_INTERVAL


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    absolute = tmp_path / "var" / "out"
    (folder / "feeds.yaml").write_text(
        MINIMAL + f"storage:\n  database: data/feeds.db\n  output_dir: {absolute}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # not the config folder: paths must not follow the cwd

    config = load_config(Path("etc/feeds.yaml"))

    assert config.path == folder.resolve() / "feeds.yaml"
    assert config.storage.database == folder.resolve() / "data" / "feeds.db"
    assert config.storage.output_dir == absolute.resolve()


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("https://feeds.example.org", "https://feeds.example.org/"),
        ("https://feeds.example.org/", "https://feeds.example.org/"),
        ("https://example.org/digest", "https://example.org/digest/"),
        ("http://127.0.0.1:8080/digest/", "http://127.0.0.1:8080/digest/"),
    ],
)
def test_site_url_ends_with_a_slash(written: str, expected: str) -> None:
    text = MINIMAL.replace("url: https://feeds.example.org/", f"url: {written}")
    assert check(text).site.url == expected


def test_site_and_server_values() -> None:
    text = MINIMAL.replace(
        "feeds:",
        "  description: |\n    Partner news\n  language: zh-CN\n  max_items: 25\n"
        "server:\n  host: 0.0.0.0\n  port: 65535\nfeeds:",
    )
    config = check(text)
    assert (config.site.description, config.site.language) == ("Partner news", "zh-CN")
    assert config.site.max_items == 25
    assert (config.server.host, config.server.port) == ("0.0.0.0", 65535)


# --------------------------------------------------------------------------- many problems at once


BROKEN_EXPECTED: dict[tuple[int, str], str] = {
    (2, "site.title"): "missing required key",
    (4, "site.max_items"): "expected a whole number, got 'lots'",
    (5, "site.colour"): "unknown key",
    (7, "server.port"): "must be at most 65535, got 70000",
    (9, "defaults.interval"): "got '1:30'",
    (10, "defaults.timeout"): "write '15m'",
    (14, "feeds[0].intervall"): "unknown key; did you mean 'interval'?",
    (15, "feeds[0].enabled"): "expected true or false, got 'no'",
    (16, "feeds[0].tags"): "expected a list like [news], got 'news'",
    (17, "feeds[0].kind"): "expected one of article, whitepaper, webinar, got 'articles'",
    (18, "feeds[1].id"): "bad id 'SCW_Whitepapers'",
    (19, "feeds[1].url"): "expected an http:// or https:// URL, got 'ftp://",
    (21, "feeds[1].kind"): "duplicate key; first set on line 20",
    (22, "feeds[2].id"): "duplicate id 'scw-news'; feeds[0] on line 12",
    (24, "feeds[3].id"): "missing required key",
    (24, "feeds[3].url"): "missing required key",
    (25, "feeds[3].max_size"): "got '2GB'; did you mean '2048MB'?",
    (26, "allow_private_networks"): "expected true or false, got 'yes'",
}


def test_broken_file_reports_every_problem() -> None:
    path = DATA / "broken.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = info.value.problems

    assert {(p.line, p.path) for p in problems} == set(BROKEN_EXPECTED)
    assert len(problems) == len(BROKEN_EXPECTED)
    for problem in problems:
        assert BROKEN_EXPECTED[problem.line, problem.path] in problem.message, str(problem)
        assert problem.file == str(path)
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_broken_file_marks_match_the_reported_lines() -> None:
    """The fixture marks each planted error with "<-": keep the file and the table in step."""
    lines = (DATA / "broken.yaml").read_text(encoding="utf-8").splitlines()
    marked = {number for number, line in enumerate(lines, start=1) if "# <-" in line}
    assert marked == {line for line, _ in BROKEN_EXPECTED}


def test_problem_format_and_error_text() -> None:
    text = with_feed_key("intervall: 15m")
    with pytest.raises(ConfigError) as info:
        check_config_text(text, "feeds.yaml", BASE)
    expected = "feeds.yaml:7: feeds[0].intervall: unknown key; did you mean 'interval'?"
    assert [str(p) for p in info.value.problems] == [expected]
    assert str(info.value) == expected


def test_syntax_error_reports_its_line() -> None:
    path = DATA / "syntax_error.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.path) == (str(path), 7, "")
    assert problem.message.startswith("invalid YAML: ")
    assert "indentation" in problem.message


FEED_START = "feeds:\n  - id: x\n    url: https://a.example.org/feed\n"
NEXT_FEED = "  - id: y\n    url: https://b.example.org/feed\n"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("site:\n  title: x\n   url: y\n", 3, "mapping values are not allowed here"),
        ("site:\n\ttitle: x\n", 2, "indent with spaces, not tabs"),
        ("site: {title: [}\n", 1, "invalid YAML"),
        ("a: 1\n---\nb: 2\n", 2, "expected a single document"),
        # Where the quote or bracket opened, not the end of the file (the parser's mark).
        ("a: 'unclosed\n", 1, "the quote opened here (column 4) is never closed"),
        ('a: 1\nb: "open\nc: 3\nd: 4\n', 2, "the quote opened here (column 4) is never closed"),
        ("a: [x, y\nb: 2\n", 1, "the [ opened here (column 4) is never closed"),
        ("a: {x: 1\nb: 2\n", 1, "the { opened here (column 4) is never closed"),
        ("site:\n  title: Digest: news\n", 2, 'put it in quotes: "Digest: news"'),
        # The file ends inside a bracket, or on a key without its value: these crashed
        # `check` (the error's line is past the last line) and failed a reload silently.
        ("a: [", 1, "the [ opened here (column 4) is never closed; add ']'"),
        (FEED_START + "    tags: [a,", 4, "the [ opened here (column 11) is never closed"),
        (FEED_START + "    tags: [a,\n", 4, "the [ opened here (column 11) is never closed"),
        (FEED_START + "    tags: [a, {b: 1,\n", 4, "the { opened here (column 15) is never"),
        (FEED_START + "    kind\n", 4, "a key needs ': ' and its value after it"),
        ("a: |\n b\nc\n", 3, "could not find expected ':'"),
        # ... or followed by the next feed: the parser notices a line later
        (FEED_START + "    kind\n" + NEXT_FEED, 4, "(column 5); a key needs ': ' and its value"),
        (FEED_START + "    tags: [a,\n" + NEXT_FEED, 4, "the [ opened here (column 11) is never"),
    ],
)
def test_syntax_errors(text: str, line: int, fragment: str) -> None:
    problem = only_problem(text)
    assert (problem.line, problem.path) == (line, "")
    assert fragment in problem.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("# nothing but a comment\n", "the file is empty"),
        ("- id: scw-news\n", "expected a mapping at the top level, got a list"),
        ("just words\n", "expected a mapping at the top level, got 'just words'"),
    ],
)
def test_empty_or_non_mapping_document(text: str, fragment: str) -> None:
    problem = only_problem(text)
    assert (problem.line, problem.path) == (1, "")
    assert fragment in problem.message


def test_every_duplicate_key_is_reported() -> None:
    text = """\
site:
  title: One
  url: https://feeds.example.org/
  title: Two
  title: Three
feeds:
  - id: a
    url: https://a.example.org/
    tags: [x]
    tags: [y]
feeds:
  - id: b
    url: https://b.example.org/
"""
    assert [(p.line, p.path, p.message) for p in problems_of(text)] == [
        (4, "site.title", "duplicate key; first set on line 2"),
        (5, "site.title", "duplicate key; first set on line 2"),
        (10, "feeds[0].tags", "duplicate key; first set on line 9"),
        (11, "feeds", "duplicate key; first set on line 6"),
    ]


def test_duplicate_ids_name_the_first_one() -> None:
    text = MINIMAL + "  - id: wego-news\n    url: https://we-gov.org/feed/\n"
    text += "  - id: scw-news\n    url: https://example.org/other\n"
    problem = only_problem(text)
    assert (problem.line, problem.path) == (9, "feeds[2].id")
    assert problem.message == "duplicate id 'scw-news'; feeds[0] on line 5 has it already"


def test_a_partner_url_listed_twice_names_the_first_feed() -> None:
    # Polled twice, and each story shown from it said "Also published by" the same partner.
    text = MINIMAL + "  - id: scw-again\n"
    text += "    url: http://smartcitiesworld.net/Syndication/DF.cfm?ft=10&f=7&utm_source=x\n"
    problem = only_problem(text)
    assert (problem.line, problem.path) == (8, "feeds[1].url")
    assert problem.message == (
        "the same feed as 'scw-news' (line 6): it would be polled twice and credit itself; "
        "remove one, or give both include:/exclude: filters to split the feed between them"
    )


def test_one_partner_feed_split_by_filters_may_be_listed_twice() -> None:
    text = MINIMAL + "    include: [{title: webinar}]\n    kind: webinar\n"
    text += "  - id: scw-articles\n"
    text += "    url: https://www.smartcitiesworld.net/Syndication/DF.cfm?f=7&ft=10\n"
    text += "    exclude: [{title: webinar}]\n"
    assert [f.id for f in check(text).feeds] == ["scw-news", "scw-articles"]


def test_feeds_whose_urls_differ_by_a_content_parameter_are_two_feeds() -> None:
    text = MINIMAL + "  - id: scw-other\n"
    text += "    url: https://www.smartcitiesworld.net/Syndication/DF.cfm?f=8&ft=10\n"
    assert len(check(text).feeds) == 2


@pytest.mark.parametrize(
    ("text", "line", "path"),
    [
        ("feeds:\n  - id: a\n    url: https://a.example.org/\n", 1, "site"),
        ("site:\n  title: T\n  url: https://x.example.org/\n", 1, "feeds"),
        (MINIMAL.replace("  title: WeGO Partner Digest\n", ""), 1, "site.title"),
        (MINIMAL.replace("  url: https://feeds.example.org/\n", ""), 1, "site.url"),
        (MINIMAL.replace("  - id: scw-news\n    url", "  - url"), 5, "feeds[0].id"),
        (MINIMAL.replace("    url: https://www.", "    name: https://www."), 5, "feeds[0].url"),
    ],
)
def test_missing_required_keys(text: str, line: int, path: str) -> None:
    problem = only_problem(text)
    assert (problem.line, problem.path, problem.message) == (line, path, "missing required key")


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("intervall: 15m", "unknown key; did you mean 'interval'?"),
        ("Tags: [news]", "unknown key; did you mean 'tags'?"),
        ("max_items: 10", "unknown key here; 'max_items' belongs in site"),
        ("colour: red", "unknown key; expected one of: id, url, kind, name, interval"),
    ],
)
def test_unknown_key_hints(line: str, fragment: str) -> None:
    problem = only_problem(with_feed_key(line))
    assert problem.line == 7
    assert fragment in problem.message


def test_unknown_keys_in_blocks() -> None:
    text = MINIMAL + "defaults:\n  priority: 3\n  intervl: 5m\ninterval: 5m\nstorage:\n  db: x\n"
    assert [(p.line, p.path, p.message) for p in problems_of(text)] == [
        (8, "defaults.priority", "unknown key here; 'priority' belongs in each feed"),
        (9, "defaults.intervl", "unknown key; did you mean 'interval'?"),
        (10, "interval", "unknown key here; 'interval' belongs in defaults or each feed"),
        (12, "storage.db", "unknown key; expected one of: database, output_dir"),
    ]


@pytest.mark.parametrize(
    ("line", "path", "fragment"),
    [
        ("enabled: no", "feeds[0].enabled", "expected true or false, got 'no'"),
        ('enabled: "false"', "feeds[0].enabled", "expected true or false, got 'false'"),
        ("enabled: 0", "feeds[0].enabled", "expected true or false, got 0"),
        ("enabled:", "feeds[0].enabled", "expected true or false, got an empty value"),
        ("priority: high", "feeds[0].priority", "expected a whole number, got 'high'"),
        ('priority: "1"', "feeds[0].priority", "expected a whole number, got '1'"),
        ("priority: true", "feeds[0].priority", "expected a whole number, got true"),
        ("tags: news", "feeds[0].tags", "expected a list like [news], got 'news'"),
        ("tags:", "feeds[0].tags", "expected a list, got an empty value"),
        ("tags: [7]", "feeds[0].tags[0]", "expected text, got the number 7"),
        ("tags: [Smart Cities]", "feeds[0].tags[0]", "bad tag 'Smart Cities'"),
        ("tags: [news, news]", "feeds[0].tags", "tag 'news' is listed more than once"),
        ("name:", "feeds[0].name", "expected text, got an empty value"),
        ("name: 2021-04-01", "feeds[0].name", "expected text, got the date 2021-04-01"),
        ("kind: news", "feeds[0].kind", "expected one of article, whitepaper, webinar"),
        ("kind: Webinar", "feeds[0].kind", "did you mean 'webinar'?"),
        ("allow_private_networks: on", "feeds[0].allow_private_networks", "got 'on'"),
    ],
)
def test_wrong_values_in_a_feed(line: str, path: str, fragment: str) -> None:
    problem = only_problem(with_feed_key(line))
    assert (problem.line, problem.path) == (7, path)
    assert fragment in problem.message


@pytest.mark.parametrize(
    ("feed_id", "fragment"),
    [
        ("SCW", "like 'scw'"),
        ("scw_news", "like 'scw-news'"),
        ("-scw", "no hyphen first or last"),
        ("scw-", "no hyphen first or last"),
        ("scw--news", "bad id"),
        ("'스마트'", "bad id"),
        ("'a b'", "like 'a-b'"),
        ("42", "expected text, got the number 42; put it in quotes: '42'"),
        ("x" * 65, "too long"),
    ],
)
def test_bad_ids(feed_id: str, fragment: str) -> None:
    problem = only_problem(MINIMAL.replace("id: scw-news", f"id: {feed_id}"))
    assert (problem.line, problem.path) == (5, "feeds[0].id")
    assert fragment in problem.message


@pytest.mark.parametrize("feed_id", ["a", "scw-news", "wego-2024", "'2024'"])
def test_good_ids(feed_id: str) -> None:
    config = check(MINIMAL.replace("id: scw-news", f"id: {feed_id}"))
    assert config.feeds[0].id == feed_id.strip("'")


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://ftp.example.org/feed.xml", "expected an http:// or https:// URL"),
        ("file:///etc/passwd", "expected an http:// or https:// URL"),
        ("example.org/rss", "did you mean 'https://example.org/rss'?"),
        ("https://", "the URL has no host name"),
        ("https:///feed", "the URL has no host name"),
        ("'https://example.org/a feed'", "must not contain spaces"),
        ("https://example.org:99999/", "not a valid URL"),
        ("42", "expected text, got the number 42"),
    ],
)
def test_bad_feed_urls(url: str, fragment: str) -> None:
    text = MINIMAL.replace(
        "url: https://www.smartcitiesworld.net/Syndication/DF.cfm?f=7&ft=10", f"url: {url}"
    )
    problem = only_problem(text)
    assert (problem.line, problem.path) == (6, "feeds[0].url")
    assert fragment in problem.message


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://feeds.example.org/", "expected an http:// or https:// URL"),
        ("https://feeds.example.org/?page=1", "remove the '?' or '#' part"),
        ("https://feeds.example.org/#top", "remove the '?' or '#' part"),
    ],
)
def test_bad_site_urls(url: str, fragment: str) -> None:
    problem = only_problem(MINIMAL.replace("url: https://feeds.example.org/", f"url: '{url}'"))
    assert (problem.line, problem.path) == (3, "site.url")
    assert fragment in problem.message


SITE_ONLY = MINIMAL.partition("feeds:")[0]


@pytest.mark.parametrize(
    ("line", "path", "fragment"),
    [
        ("max_items: 0", "site.max_items", "must be more than 0, got 0"),
        ("max_items: lots", "site.max_items", "expected a whole number, got 'lots'"),
        ("max_items: 10.5", "site.max_items", "expected a whole number, got 10.5"),
        ("language: English", "site.language", "expected a language code"),
        ("description: [a]", "site.description", "expected text, got a list"),
        ("description: ''", "site.description", "must not be empty"),
    ],
)
def test_wrong_site_values(line: str, path: str, fragment: str) -> None:
    problem = only_problem(MINIMAL.replace("feeds:", f"  {line}\nfeeds:"))
    assert (problem.line, problem.path) == (4, path)
    assert fragment in problem.message


def test_blank_site_title() -> None:
    problem = only_problem(MINIMAL.replace("WeGO Partner Digest", "'  '"))
    assert (problem.line, problem.path, problem.message) == (2, "site.title", "must not be empty")


@pytest.mark.parametrize(
    ("text", "path", "fragment"),
    [
        (MINIMAL + "server:\n  port: 0\n", "server.port", "must be at least 1, got 0"),
        (MINIMAL + "server:\n  port: '80'\n", "server.port", "expected a whole number, got '80'"),
        (MINIMAL + "server:\n  host: my host\n", "server.host", "expected a host name"),
        (MINIMAL + "storage:\n  database: ''\n", "storage.database", "must not be empty"),
        (MINIMAL + "storage: public\n", "storage", "expected a mapping (key: value lines)"),
        (MINIMAL + "allow_private_networks: yes\n", "allow_private_networks", "got 'yes'"),
        (SITE_ONLY + "feeds: []\n", "feeds", "the list is empty; add at least one feed"),
        (SITE_ONLY + "feeds:\n", "feeds", "expected a list, got an empty value"),
        (SITE_ONLY + "feeds:\n  - https://a.example.org/\n", "feeds[0]", "expected a feed"),
    ],
)
def test_wrong_values_elsewhere(text: str, path: str, fragment: str) -> None:
    problem = only_problem(text)
    assert problem.path == path
    assert fragment in problem.message


# --------------------------------------------------------------------------- durations and sizes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("365d", timedelta(days=365)),
        ("1s", timedelta(seconds=1)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1:30", "expected a duration like 90s, 15m, 2h or 1d, got '1:30'; did you mean '90m'?"),
        ("0:15", "did you mean '15m'?"),
        ("0:00:45", "did you mean '45s'?"),
        ("1:75", "got '1:75'"),  # not a time of day: no guess
        ("15", "got '15'"),
        ("15 minutes", "did you mean '15m'?"),
        ("15 m", "did you mean '15m'?"),
        ("2 hours", "did you mean '2h'?"),
        ("1h30m", "did you mean '90m'?"),
        ("15M", "did you mean '15m'?"),
        ("1.5h", "got '1.5h'; did you mean '90m'?"),
        ("1w", "did you mean '7d'?"),
        ("2 weeks", "did you mean '14d'?"),
        ("0.5s", "got '0.5s'"),  # no whole number of seconds: no guess
        ("-5m", "got '-5m'"),
        ("15ms", "got '15ms'"),
        ("", "got ''"),
        ("0m", "must be more than zero"),
        ("366d", "at most 365d"),
        ("9" * 40 + "s", "at most 365d"),
    ],
)
def test_parse_duration_rejects(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("15", "a duration needs a unit: write '15m' (or s, h, d), not 15"),
        ("1:30", "got '1:30'"),  # YAML 1.2: text, not the sexagesimal 90
        ("15 minutes", "did you mean '15m'?"),
        ("0m", "must be more than zero"),
        ("1.5", "expected a duration like 90s, 15m, 2h or 1d, got 1.5"),
        ("true", "got true"),
        ("", "got an empty value"),
    ],
)
def test_durations_in_feeds_yaml(value: str, fragment: str) -> None:
    for key in ("interval", "timeout"):
        problem = only_problem(with_feed_key(f"{key}: {value}"))
        assert (problem.line, problem.path) == (7, f"feeds[0].{key}")
        assert fragment in problem.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1B", 1),
        ("512KB", 512 * 1024),
        ("10MB", 10 * 1024 * 1024),
        ("1024MB", 1024**3),
        ("2048KB", 2 * 1024 * 1024),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2GB", "did you mean '2048MB'?"),
        ("10mb", "did you mean '10MB'?"),
        ("10 MB", "did you mean '10MB'?"),
        ("10MiB", "did you mean '10MB'?"),
        ("512k", "did you mean '512KB'?"),
        ("10", "got '10'"),
        ("1.5MB", "got '1.5MB'"),
        ("10TB", "got '10TB'"),
        ("0KB", "must be more than zero"),
        ("1025MB", "at most 1024MB"),
        ("9" * 40 + "B", "at most 1024MB"),
    ],
)
def test_parse_size_rejects(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        parse_size(text)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("10485760", "a size needs a unit: write '10485760B', '10485760KB' or '10485760MB'"),
        ("2GB", "did you mean '2048MB'?"),
        ("[10MB]", "got a list"),
    ],
)
def test_sizes_in_feeds_yaml(value: str, fragment: str) -> None:
    problem = only_problem(with_feed_key(f"max_size: {value}"))
    assert (problem.line, problem.path) == (7, "feeds[0].max_size")
    assert fragment in problem.message


# --------------------------------------------------------------------------- files and YAML corners


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.path) == (str(path), 1, "")
    assert "cannot read the file" in problem.message


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(MINIMAL.encode() + b"    name: Caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [(p.line, p.message) for p in info.value.problems] == [
        (7, "not UTF-8 text: save the file as UTF-8")
    ]


def test_byte_order_mark_and_non_ascii_text(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    text = MINIMAL.replace("WeGO Partner Digest", "WeGO 파트너 다이제스트") + "    name: 智慧城市\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    config = load_config(path)
    assert config.site.title == "WeGO 파트너 다이제스트"
    assert config.feeds[0].name == "智慧城市"


def test_anchors_and_merge_keys_work() -> None:
    text = MINIMAL + (
        "  - &scw\n    id: scw-webinars\n    url: https://example.org/webinars\n"
        "    kind: webinar\n    tags: &tags [smartcitiesworld]\n"
        "  - <<: *scw\n    id: scw-whitepapers\n    url: https://example.org/whitepapers\n"
        "    kind: whitepaper\n    tags: *tags\n"
    )
    config = check(text)
    assert [(f.id, f.kind, f.url, f.tags) for f in config.feeds[1:]] == [
        ("scw-webinars", "webinar", "https://example.org/webinars", ("smartcitiesworld",)),
        ("scw-whitepapers", "whitepaper", "https://example.org/whitepapers", ("smartcitiesworld",)),
    ]
    assert [f.line for f in config.feeds] == [5, 7, 12]


def test_alias_bomb_is_refused_quickly() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 10):
        levels.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]")
    problem = only_problem("\n".join(levels) + "\n")
    assert "too many values" in problem.message


def test_absurd_nesting_is_a_problem_not_a_crash() -> None:
    problem = only_problem("site: " + "[" * 400 + "]" * 400 + "\n")
    assert "nested too deeply" in problem.message


def test_yaml_1_1_booleans_stay_text() -> None:
    """YAML 1.2: an unquoted no or off is the text itself, where text is expected."""
    text = MINIMAL.replace("WeGO Partner Digest", "no") + "    name: off\n"
    config = check(text)
    assert config.site.title == "no"
    assert config.feeds[0].name == "off"


def test_a_yaml_1_1_directive_is_refused_at_its_line() -> None:
    # ruamel would honour it and read `enabled: no` as false again.
    problem = only_problem("# old file\n%YAML 1.1\n---\n" + MINIMAL + "    enabled: no\n")
    assert (problem.line, problem.path) == (2, "")
    assert "only YAML 1.2 is read" in problem.message
    assert check("%YAML 1.2\n---\n" + MINIMAL).feeds[0].id == "scw-news"


# --------------------------------------------------------------------------- issue 7 limits


def test_max_entries_and_iframe_hosts_defaults_and_overrides() -> None:
    (feed,) = check(MINIMAL).feeds
    assert feed.max_entries == 1000
    assert feed.iframe_hosts == {"youtube.com", "youtube-nocookie.com", "player.vimeo.com"}
    text = (
        MINIMAL.replace("feeds:\n", "defaults:\n  max_entries: 50\n  iframe_hosts: []\nfeeds:\n")
        + "  - id: video\n    url: https://v.example.org/rss\n"
        + "    max_entries: 5000\n    iframe_hosts: [Player.Vimeo.com]\n"
    )
    plain, video = check(text).feeds
    assert (plain.max_entries, plain.iframe_hosts) == (50, frozenset())
    assert (video.max_entries, video.iframe_hosts) == (5000, frozenset({"player.vimeo.com"}))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("max_entries: 0", "must be more than 0, got 0"),
        ("max_entries: many", "expected a whole number"),
        ("iframe_hosts: youtube.com", "expected a list"),
        ("iframe_hosts: [https://youtube.com/]", "expected a host name such as 'www.youtube.com'"),
        ("iframe_hosts: [localhost]", "expected a host name"),
    ],
)
def test_max_entries_and_iframe_hosts_problems(line: str, message: str) -> None:
    problem = only_problem(with_feed_key(line))
    assert problem.line == 7
    assert message in problem.message
