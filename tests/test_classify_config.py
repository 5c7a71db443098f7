"""feeds.yaml: kind rules, include/exclude filters, max_stories, keep_past_webinars."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from test_config import BASE, MINIMAL, check  # the minimal valid file and how it is checked

from syndicator.config import (
    DEFAULT_KEEP_PAST_WEBINARS,
    ConfigError,
    Problem,
    check_config_text,
)

SHIPPED = Path(__file__).parents[1] / "feeds.yaml"


def only_problem(text: str) -> Problem:
    with pytest.raises(ConfigError) as info:
        check(text)
    problems = info.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def with_feed(lines: str) -> str:
    """MINIMAL plus lines in its feed (indented by 4), starting on line 7."""
    return MINIMAL + "".join(f"    {line}\n" for line in lines.splitlines())


# --------------------------------------------------------------------------- good


def test_defaults() -> None:
    config = check(MINIMAL)
    feed = config.feeds[0]
    assert config.rules == () and feed.rules == ()
    assert not feed.filters and feed.max_stories is None
    assert config.site.keep_past_webinars == DEFAULT_KEEP_PAST_WEBINARS == timedelta(days=7)


def test_rules_filters_and_cap() -> None:
    text = (
        MINIMAL.replace(
            "  url: https://feeds.example.org/\n",
            "  url: https://feeds.example.org/\n  keep_past_webinars: 2d\n",
        )
        + """\
    max_stories: 20
    rules:
      - kind: whitepaper
        category: [Reports, White papers]
        enclosure_type: application/pdf
    exclude:
      - title: {regex: "^(sponsored|advert)"}
    include:
      - category: smart cities
      - url: /news/
rules:
  - kind: webinar
    title: webinar
"""
    )
    config = check(text)
    feed = config.feeds[0]
    assert config.site.keep_past_webinars == timedelta(days=2)
    assert feed.max_stories == 20
    # The feed's rules first (line 10), then the global one (line 19).
    assert [(r.kind, r.condition.line) for r in feed.rules] == [("whitepaper", 10), ("webinar", 19)]
    assert config.rules == feed.rules[1:]
    first = feed.rules[0].condition
    assert [(name, [m.text for m in matchers]) for name, matchers in first.tests] == [
        ("category", ["Reports", "White papers"]),
        ("enclosure_type", ["application/pdf"]),
    ]
    assert [c.line for c in feed.filters.exclude] == [14]
    assert [c.line for c in feed.filters.include] == [16, 17]
    regex = feed.filters.exclude[0].tests[0][1][0]
    assert regex.is_regex and regex.matches("SPONSORED: sensors")


def test_problem_file_name_is_in_rule_descriptions() -> None:
    config = check_config_text(
        with_feed("rules:\n  - kind: webinar\n    title: webinar"), "/srv/partners.yaml", BASE
    )
    assert config.feeds[0].rules[0].condition.where == "partners.yaml line 8"


# --------------------------------------------------------------------------- bad


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            "rules:\n  - kind: webinar\n    titel: webinar",
            "feeds.yaml:9: feeds[0].rules[0].titel: unknown key; did you mean 'title'? "
            "(a rule has title, url, category, enclosure_type, kind)",
        ),
        (
            "rules:\n  - kind: webinar\n    link: /events/",
            "feeds.yaml:9: feeds[0].rules[0].link: unknown key; did you mean 'url'? "
            "(a rule has title, url, category, enclosure_type, kind)",
        ),
        (
            "rules:\n  - kind: webinars\n    title: webinar",
            "feeds.yaml:8: feeds[0].rules[0].kind: expected one of article, whitepaper, webinar, "
            "got 'webinars'; did you mean 'webinar'?",
        ),
        (
            "rules:\n  - title: webinar",
            "feeds.yaml:8: feeds[0].rules[0].kind: missing required key",
        ),
        (
            "rules:\n  - kind: webinar",
            "feeds.yaml:8: feeds[0].rules[0]: give at least one of title, url, category, "
            "enclosure_type",
        ),
        (
            "rules:\n  - kind: webinar\n    title: {regex: '(web'}",
            'feeds.yaml:9: feeds[0].rules[0].title: invalid regular expression "(web": '
            "missing ), unterminated subpattern at position 0",
        ),
        (
            "rules:\n  - kind: webinar\n    title: [webinar, {regex: 'a[b'}]",
            'feeds.yaml:9: feeds[0].rules[0].title: item 2: invalid regular expression "a[b": '
            "unterminated character set at position 1",
        ),
        (
            "rules:\n  - kind: webinar\n    title: {regexp: web}",
            "feeds.yaml:9: feeds[0].rules[0].title: unknown key 'regexp': write "
            "{regex: PATTERN}; did you mean 'regex'?",
        ),
        (
            "rules:\n  - kind: webinar\n    title: ''",
            "feeds.yaml:9: feeds[0].rules[0].title: must not be empty",
        ),
        (
            "rules:\n  - kind: webinar\n    title: []",
            "feeds.yaml:9: feeds[0].rules[0].title: the list is empty; expected a text, "
            "{regex: PATTERN} or a list of them",
        ),
        (
            "rules:\n  - kind: webinar\n    title: 2026",
            "feeds.yaml:9: feeds[0].rules[0].title: expected a text, {regex: PATTERN} or a "
            "list of them, got 2026",
        ),
        (
            "exclude:\n  - kind: article\n    title: sponsored",
            "feeds.yaml:8: feeds[0].exclude[0].kind: unknown key: a filter keeps or drops "
            "entries and has no kind (see rules:)",
        ),
        (
            "include: smart cities",
            "feeds.yaml:7: feeds[0].include: expected a list like [smart cities], "
            "got 'smart cities'",
        ),
        ("max_stories: 0", "feeds.yaml:7: feeds[0].max_stories: must be more than 0, got 0"),
        (
            "max_stories: '5'",
            "feeds.yaml:7: feeds[0].max_stories: expected a whole number, got '5'",
        ),
    ],
)
def test_bad_feed_keys(lines: str, expected: str) -> None:
    assert str(only_problem(with_feed(lines))) == expected


def test_bad_global_rule_and_keep_past_webinars() -> None:
    text = (
        MINIMAL.replace(
            "  url: https://feeds.example.org/\n",
            "  url: https://feeds.example.org/\n  keep_past_webinars: 7\n",
        )
        + "rules:\n  - kind: webinar\n    category: {regex: '*webinar'}\n"
    )
    with pytest.raises(ConfigError) as info:
        check(text)
    assert [str(p) for p in info.value.problems] == [
        "feeds.yaml:4: site.keep_past_webinars: a duration needs a unit: write '7m' "
        "(or s, h, d), not 7",
        'feeds.yaml:10: rules[0].category: invalid regular expression "*webinar": '
        "nothing to repeat at position 0",
    ]


# --------------------------------------------------------------------------- shipped file


def test_the_shipped_examples_are_valid_once_uncommented() -> None:
    """feeds.yaml documents rules and filters in comments: they must work as written."""
    text = SHIPPED.read_text(encoding="utf-8")
    start = text.index("# rules:\n")
    end = text.index("\nfeeds:", start)
    global_rules = re.sub(r"^# ?", "", text[start:end], flags=re.M)
    feed_start = text.index("  # - id: some-partner")
    feed_end = text.index("\n", text.index("#   max_stories:", feed_start))
    example_feed = re.sub(r"^  # ?", "  ", text[feed_start:feed_end], flags=re.M)
    uncommented = (
        text[:start] + global_rules + text[end:feed_start] + example_feed + text[feed_end:]
    )
    config = check(uncommented)
    example = config.feed("some-partner")
    assert example is not None
    assert [r.kind for r in config.rules] == ["webinar", "whitepaper", "whitepaper"]
    assert [r.kind for r in example.rules] == ["webinar", "webinar", "whitepaper", "whitepaper"]
    assert len(example.filters.exclude) == 1 and len(example.filters.include) == 1
    assert example.max_stories == 20
