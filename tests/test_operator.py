"""Operator tools: `add` (feed URL or web page), `import` / `export` OPML, feeds.yaml edits.

`add` fetches real partners on 127.0.0.1 (PartnerServer); the commands run in-process
through `cli.main`, on a copy of tests/data/operator/feeds.yaml, whose comments, blank
lines and odd spacing must come out byte for byte around the lines added.
"""

from __future__ import annotations

import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from feed_validator import validate_feed_files
from partner_server import PartnerServer

from syndicator.cli import main
from syndicator.config import ConfigError, load_config
from syndicator.demo import demo_feeds_dir
from syndicator.operator import (
    NewFeed,
    OperatorError,
    append_feeds,
    discover_feeds,
    suggest_id,
)

DATA = Path(__file__).parent / "data" / "operator"
SCW_NEWS = (demo_feeds_dir() / "scw-news.rss").read_bytes()  # titled "SmartCitiesWorld News"
WEGO_NEWS = (demo_feeds_dir() / "wego-news.atom").read_bytes()
# Where `add` and `import` insert: after the last feed and its comment, before the
# commented-out feeds at the end of the file.
TAIL = "\n# Feeds we stopped fetching (kept for the record):\n"


@pytest.fixture
def server() -> Iterator[PartnerServer]:
    with PartnerServer() as partner:
        partner.set("/newsroom/", (DATA / "page.html").read_bytes(), content_type="text/html")
        partner.set("/newsroom/feeds/news.rss", SCW_NEWS)
        partner.set("/comments.atom", WEGO_NEWS, content_type="application/atom+xml")
        partner.set("/about/", (DATA / "no_feed.html").read_bytes(), content_type="text/html")
        yield partner


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.yaml"
    shutil.copyfile(DATA / "feeds.yaml", path)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def inserted(old: str, new: str, at: str = TAIL) -> str:
    """The text inserted into ``old`` just before ``at``; fails if any other byte changed."""
    cut = old.index(at)
    added = len(new) - len(old)
    assert added > 0
    assert new[:cut] == old[:cut]
    assert new[cut + added :] == old[cut:]
    return new[cut : cut + added]


# --------------------------------------------------------------------------- add


def test_add_from_a_page_follows_its_relative_alternate_link_and_keeps_every_other_byte(
    server: PartnerServer, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = config.read_text()
    code, out, err = run(capsys, "add", server.url("/newsroom/"), "-c", str(config))

    assert code == 0, err
    feed_url = server.url("/newsroom/feeds/news.rss")  # href="feeds/news.rss" on /newsroom/
    assert inserted(old, config.read_text()) == (
        "\n"
        "  - id: smartcitiesworld-news\n"
        "    name: SmartCitiesWorld News\n"
        f"    url: {feed_url}\n"
        "    kind: article\n"
    )
    assert "announces 2 feeds" in out
    assert f'1. RSS "Newsroom (RSS)" {feed_url}  <- picked' in out
    assert '2. Atom "Comments"' in out
    assert 'rss20, "SmartCitiesWorld News", 5 entries, newest 2026-11-18 14:05 UTC' in out
    assert "id          smartcitiesworld-news (suggested" in out
    assert "added to feeds.yaml at line 34:" in out
    assert "ok (3 feeds, 2 enabled)" in out  # check, run after the write
    added = load_config(config).feed("smartcitiesworld-news")
    assert added is not None and added.url == feed_url and added.line == 34
    assert added.allow_private_networks  # from the top level: nothing written for it


def test_add_pick_chooses_another_announced_feed(
    server: PartnerServer, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "add", server.url("/newsroom/"), "--pick", "2", "-c", str(config))
    assert code == 0, err
    assert "<- picked" in out.splitlines()[2]
    assert load_config(config).feeds[-1].url == server.url("/comments.atom")

    code, _, err = run(capsys, "add", server.url("/newsroom/"), "--pick", "3", "-c", str(config))
    assert code == 2
    assert "--pick 3: the page announces 2 feeds (1-2)" in err


def test_add_of_a_feed_url_with_options_and_dry_run(
    server: PartnerServer, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = config.read_bytes()
    args = ["--id", "scw", "--kind", "whitepaper", "--tag", "papers", "--tag", "scw"]
    url = server.url("/newsroom/feeds/news.rss")
    code, out, err = run(capsys, "add", url, *args, "--dry-run", "-c", str(config))
    assert code == 0, err
    assert config.read_bytes() == old
    block = (
        "  - id: scw\n"
        "    name: SmartCitiesWorld News\n"
        f"    url: {url}\n"
        "    kind: whitepaper\n"
        "    tags: [papers, scw]\n"
    )
    assert "would add to feeds.yaml at line 34 (--dry-run: nothing written):\n\n" + block in out
    assert "id          scw (from --id)" in out

    code, out, err = run(capsys, "add", url, *args, "--name", "SCW: papers", "-c", str(config))
    assert code == 0, err
    assert "name: 'SCW: papers'" in inserted(old.decode(), config.read_text())
    feed = load_config(config).feed("scw")
    assert feed is not None
    assert (feed.kind, feed.tags, feed.name) == ("whitepaper", ("papers", "scw"), "SCW: papers")


def test_add_refuses_a_url_or_id_already_in_feeds_yaml(
    server: PartnerServer, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = config.read_bytes()
    # Same feed for a reader: http, www. and a trailing slash do not make it another one.
    code, _, err = run(capsys, "add", "http://www.first.example.org/feed.xml/", "-c", str(config))
    assert code == 2
    assert "is already in feeds.yaml as 'first-partner' (line 21); nothing added" in err
    assert not server.requests  # refused before fetching anything

    code, _, err = run(
        capsys, "add", server.url("/about/"), "--id", "first-partner", "-c", str(config)
    )
    assert code == 2
    assert "the id 'first-partner' is taken by the feed on line 21" in err

    code, _, err = run(capsys, "add", server.url("/about/"), "--id", "Not_An_Id", "-c", str(config))
    assert code == 2
    assert "bad id 'Not_An_Id'" in err and "like 'not-an-id'" in err

    # The page announces a feed that is already there: found after discovery.
    assert run(capsys, "add", server.url("/newsroom/feeds/news.rss"), "-c", str(config))[0] == 0
    after_first = config.read_bytes()
    code, _, err = run(capsys, "add", server.url("/newsroom/"), "-c", str(config))
    assert code == 2
    assert "as 'smartcitiesworld-news' (line 34)" in err
    assert config.read_bytes() == after_first != old


def test_add_without_a_feed_exits_2_and_leaves_the_file_alone(
    server: PartnerServer, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = config.read_bytes()
    code, out, err = run(capsys, "add", server.url("/about/"), "-c", str(config))
    assert code == 2
    assert "no feed found" in err and '<link rel="alternate"' in err
    assert out == ""

    code, _, err = run(capsys, "add", server.url("/missing.rss"), "-c", str(config))
    assert code == 2
    assert "could not fetch" in err and "HTTP 404" in err
    assert config.read_bytes() == old
    assert sorted(p.name for p in config.parent.iterdir()) == ["feeds.yaml"]  # no temp files


def test_add_from_a_private_address_needs_the_flag_and_records_it(
    server: PartnerServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "feeds.yaml"
    text = (DATA / "feeds.yaml").read_text()
    config.write_text(text.replace("allow_private_networks: true", "allow_private_networks: false"))
    url = server.url("/newsroom/feeds/news.rss")

    code, _, err = run(capsys, "add", url, "-c", str(config))
    assert code == 2
    assert "loopback" in err and "pass --allow-private-networks" in err

    code, _, err = run(capsys, "add", url, "--allow-private-networks", "-c", str(config))
    assert code == 0, err
    feed = load_config(config).feed("smartcitiesworld-news")
    assert feed is not None and feed.allow_private_networks  # else passes could not fetch it


def test_add_to_an_invalid_feeds_yaml_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "site: {title: x, url: 'https://a.example/'}\nfeeds:\n  - id: a\n    urll: x\n"
    )
    code, _, err = run(capsys, "add", "https://b.example/feed", "-c", str(config))
    assert code == 1
    assert "feeds[0].urll: unknown key" in err


# --------------------------------------------------------------------------- import, export


def test_import_adds_the_new_feeds_of_nested_outlines_and_skips_known_ones(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = config.read_text()
    code, out, err = run(capsys, "import", str(DATA / "partners.opml"), "-c", str(config))
    assert code == 0, err
    assert inserted(old, config.read_text()) == (
        "\n"
        "  - id: seoul-metropolitan-news\n"
        "    name: Seoul Metropolitan News\n"
        "    url: https://seoul.example.org/rss.xml\n"
        "    kind: whitepaper\n"
        "    tags: [smart-cities]\n"
        "\n"
        "  - id: barcelona-ajuntament\n"
        "    name: Barcelona Ajuntament\n"
        "    url: https://barcelona.example.org/feed/\n"
        "    kind: article\n"
    )
    assert "added 2 feeds, skipped 2" in out
    assert "+ seoul-metropolitan-news: https://seoul.example.org/rss.xml (line 34)" in out
    assert (
        "- skipped http://www.first.example.org/feed.xml: already in feeds.yaml as "
        "'first-partner' (line 21)"
    ) in out
    assert "- skipped ftp://files.example.org/feed.xml: not an http(s) URL" in out
    assert run(capsys, "check", "-c", str(config))[0] == 0

    # Importing the same file again adds nothing and writes nothing.
    after = config.read_bytes()
    code, out, _ = run(capsys, "import", str(DATA / "partners.opml"), "-c", str(config))
    assert code == 0
    assert "added 0 feeds, skipped 4" in out
    assert config.read_bytes() == after


def test_import_dry_run_and_bad_files(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = config.read_bytes()
    code, out, _ = run(
        capsys, "import", str(DATA / "partners.opml"), "--dry-run", "-c", str(config)
    )
    assert code == 0
    assert "would add (--dry-run: nothing written) 2 feeds" in out
    assert "  - id: barcelona-ajuntament\n" in out
    assert config.read_bytes() == old

    not_opml = tmp_path / "not.opml"
    not_opml.write_text("<rss version='2.0'/>")
    code, _, err = run(capsys, "import", str(not_opml), "-c", str(config))
    assert code == 2 and "not an OPML file" in err
    code, _, err = run(capsys, "import", str(tmp_path / "missing.opml"), "-c", str(config))
    assert code == 2 and "cannot read" in err
    assert config.read_bytes() == old


def test_export_is_valid_opml_and_importing_it_back_changes_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "import", str(DATA / "partners.opml"), "-c", str(config))[0] == 0
    exported = tmp_path / "exported.opml"
    code, _, err = run(capsys, "export", "-o", str(exported), "-c", str(config))
    assert code == 0, err
    validate_feed_files([exported])  # one warning: the syndicator:id namespace
    text = exported.read_text()
    assert 'category="/whitepaper,smart-cities"' in text
    assert 'syndicator:id="seoul-metropolitan-news"' in text

    before = config.read_bytes()
    code, out, _ = run(capsys, "import", str(exported), "-c", str(config))
    assert code == 0
    assert "added 0 feeds, skipped 4" in out
    assert config.read_bytes() == before

    # Into another installation: ids, names, kinds and tags come along.
    other = tmp_path / "other" / "feeds.yaml"
    other.parent.mkdir()
    other.write_text(
        "site: {title: Other, url: 'https://other.example/'}\n"
        "feeds:\n- id: unrelated\n  url: https://unrelated.example/feed\n"
    )
    code, out, err = run(capsys, "import", str(exported), "-c", str(other))
    assert code == 0, err
    imported = {f.id: f for f in load_config(other).feeds}
    assert list(imported) == [
        "unrelated",
        "first-partner",
        "second-partner",
        "seoul-metropolitan-news",
        "barcelona-ajuntament",
    ]
    assert imported["first-partner"].name == "First Partner"
    assert imported["first-partner"].tags == ("news",)
    assert imported["second-partner"].name is None  # exported under its id: no name
    assert imported["second-partner"].kind == "whitepaper"
    assert imported["second-partner"].url == "https://second.example.org/rss?section=news&lang=en"


def test_export_to_stdout(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "export", "-c", str(config))
    assert code == 0
    assert out.startswith("<?xml version='1.0' encoding='UTF-8'?>\n")
    assert '<opml xmlns:syndicator="urn:x-syndicator:opml" version="2.0">' in out


# --------------------------------------------------------------------------- the pieces


def test_discover_feeds_resolves_against_base_href_and_ignores_other_alternates() -> None:
    page = b"""<html><head><base href="/site/">
      <link rel="alternate" type="application/rss+xml" href="rss.xml">
      <link rel="Alternate Feed" type="application/feed+json; charset=utf-8"
            href="//cdn.example.org/f.json">
      <link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
      <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
      <link rel="alternate" type="application/rss+xml" href="rss.xml">
    </head></html>"""
    found = discover_feeds(page, "https://example.org/news/page.html")
    assert [(f.url, f.type) for f in found] == [
        ("https://example.org/site/rss.xml", "application/rss+xml"),
        ("https://cdn.example.org/f.json", "application/feed+json"),
    ]
    assert discover_feeds(b"", "https://example.org/") == []


@pytest.mark.parametrize(
    ("name", "url", "taken", "expected"),
    [
        ("SmartCitiesWorld News", "https://x.example/", [], "smartcitiesworld-news"),
        ("Café & Société — News!", "https://x.example/", [], "cafe-societe-news"),
        ("서울시 뉴스", "https://www.seoul.go.kr/rss", [], "seoul-go-kr"),
        (None, "http://127.0.0.1:8080/feed", [], "127-0-0-1"),
        ("News", "https://x.example/", ["news"], "news-2"),
        ("News", "https://x.example/", ["news", "news-2"], "news-3"),
        ("A " * 40, "https://x.example/", [], "a-" * 19 + "a"),
    ],
)
def test_suggest_id(name: str | None, url: str, taken: list[str], expected: str) -> None:
    assert suggest_id(name, url, taken) == expected


SITE = "site: {title: x, url: 'https://a.example/'}\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # Items at column 0, a comment about the last item, then another top-level key.
        (
            SITE + "feeds:\n- id: a\n  url: https://a.example/f\n  # about a\n"
            "# server\nserver:\n  port: 1\n",
            SITE + "feeds:\n- id: a\n  url: https://a.example/f\n  # about a\n"
            "- id: new\n  url: https://new.example/f\n  kind: article\n"
            "# server\nserver:\n  port: 1\n",
        ),
        # CRLF line ends, no newline at the end of the file.
        (
            SITE.replace("\n", "\r\n") + "feeds:\r\n  - id: a\r\n    url: https://a.example/f",
            SITE.replace("\n", "\r\n") + "feeds:\r\n  - id: a\r\n    url: https://a.example/f\r\n"
            "  - id: new\r\n    url: https://new.example/f\r\n    kind: article\r\n",
        ),
        # A block scalar whose last line looks like a comment; a byte order mark.
        (
            "\ufeff" + SITE + "feeds:\n    -   id: a\n        url: https://a.example/f\n"
            "        name: |\n          x\n          # y\n",
            "\ufeff" + SITE + "feeds:\n    -   id: a\n        url: https://a.example/f\n"
            "        name: |\n          x\n          # y\n"
            "    -   id: new\n        url: https://new.example/f\n        kind: article\n",
        ),
    ],
)
def test_append_keeps_the_layout_of_the_file(tmp_path: Path, before: str, after: str) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(before.encode())
    path.chmod(0o640)
    append_feeds(path, [NewFeed("new", "https://new.example/f")])
    assert path.read_bytes().decode() == after
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    load_config(path)


def test_append_refuses_what_it_cannot_insert_safely_and_never_writes_an_invalid_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "feeds.yaml"
    flow = SITE + "feeds: [{id: a, url: 'https://a.example/f'}]\n"
    path.write_text(flow)
    with pytest.raises(OperatorError, match="flow style") as refused:
        append_feeds(path, [NewFeed("new", "https://new.example/f")])
    assert "  - id: new\n    url: https://new.example/f\n" in str(refused.value)  # by hand
    assert path.read_text() == flow

    block = SITE + "feeds:\n  - id: a\n    url: https://a.example/f\n"
    path.write_text(block)
    with pytest.raises(ConfigError, match=r"feeds\[1\]\.url: expected an http:// or https://"):
        append_feeds(path, [NewFeed("new", "ftp://new.example/f")])
    assert path.read_text() == block
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feeds.yaml"]
