"""The ``syndicator`` command line: check, fetch, publish, status, serve, run, demo; and
add, import, export, preview to manage partners (operator.py, preview.py).

Exit codes (CONTRACT): 0 success; 1 feeds.yaml invalid; 2 every feed failed, the database
or output folder is unusable, or another process is using the database (lock.py).
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import logging
import os
import shutil
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, JustifyMethod
from rich.progress import Progress
from rich.table import Table

from syndicator import __version__, demo, explain
from syndicator.config import Config, ConfigError, FeedConfig, Problem, load_config
from syndicator.lock import DatabaseBusy, DatabaseLock
from syndicator.model import KINDS
from syndicator.operator import (
    OperatorError,
    append_feeds,
    describe_add,
    describe_import,
    export_opml,
    plan_add,
    plan_import,
)
from syndicator.pipeline import PassReport, partners, publish_from_store, run_pass
from syndicator.preview import preview_feed, render_json, render_text
from syndicator.publish import PublishError
from syndicator.schedule import is_gone
from syndicator.server import (
    HttpServer,
    Site,
    bind,
    create_app,
    serve_until_signalled,
    socket_url,
    static_site,
)
from syndicator.service import Service, run_until_signalled
from syndicator.status import status_document, unreadable_config_document
from syndicator.store import Store, StoreError
from syndicator.wording import counted

log = logging.getLogger("syndicator")

EXIT_OK = 0
EXIT_CONFIG = 1
EXIT_FAILED = 2


class UsageError(Exception):
    """The command line names something that does not exist (exit 2)."""


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _default_config() -> Path:
    return Path(os.environ.get("SYNDICATOR_CONFIG", "feeds.yaml"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syndicator",
        description="Poll partner feeds, merge duplicate stories, publish clean feeds.",
    )
    parser.add_argument("--version", action="version", version=f"syndicator {__version__}")
    logged = argparse.ArgumentParser(add_help=False)
    logged.add_argument(
        "--log-level",
        default=os.environ.get("SYNDICATOR_LOG_LEVEL", "INFO"),
        choices=LOG_LEVELS,
        type=str.upper,
        help="log level for messages on stderr (default INFO)",
    )
    common = argparse.ArgumentParser(add_help=False, parents=[logged])
    common.add_argument(
        "-c",
        "--config",
        type=Path,
        default=None,
        help="feeds.yaml to use (default: ./feeds.yaml or $SYNDICATOR_CONFIG)",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("check", parents=[common], help="validate feeds.yaml")
    fetch = verbs.add_parser("fetch", parents=[common], help="one pass: fetch, store, publish")
    fetch.add_argument(
        "--feed", action="append", default=[], metavar="ID", help="only this feed (repeatable)"
    )
    verbs.add_parser("publish", parents=[common], help="rebuild the published files from the store")
    status = verbs.add_parser("status", parents=[common], help="health of every partner feed")
    status.add_argument("--json", action="store_true", help="print one JSON document")
    serve = verbs.add_parser("serve", parents=[common], help="serve the published folder")
    run = verbs.add_parser(
        "run", parents=[common], help="the service: fetch on schedule, publish, serve, reload"
    )
    for verb in (serve, run):
        verb.add_argument("--host", help="address to listen on (default: server.host)")
        verb.add_argument(
            "--port", type=int, help="port, 0 for any free one (default: server.port)"
        )
    # The demo writes its own feeds.yaml: no -c.
    demo = verbs.add_parser("demo", parents=[logged], help="the whole pipeline on sample feeds")
    demo.add_argument("--host", default="127.0.0.1", help="address to serve on")
    demo.add_argument("--port", type=int, default=8080, help="port for the result (0: any)")
    demo.add_argument(
        "--dir", type=Path, help="keep the demo's files here (default: a temporary folder)"
    )
    demo.add_argument(
        "--no-serve", action="store_true", help="run one pass, print the result and exit"
    )
    explain = verbs.add_parser(
        "explain", parents=[common], help="a story's copies and why each joined it"
    )
    explain.add_argument(
        "reference", help="a story id, a merged story's id, or a copy's link or GUID"
    )
    explain.add_argument("--json", action="store_true", help="print one JSON document")
    _add_partner_verbs(verbs, common)
    return parser


def _add_partner_verbs(verbs: Any, common: argparse.ArgumentParser) -> None:
    """add, import, export, preview: managing partners (operator.py, preview.py)."""
    kinds = list(KINDS)
    private_help = "fetch even from loopback/private addresses (local or test partners)"
    add = verbs.add_parser("add", parents=[common], help="add a partner feed to feeds.yaml")
    add.add_argument("url", help="the feed's URL, or a web page announcing its feeds")
    add.add_argument("--kind", choices=kinds, default="article", help="default: article")
    add.add_argument("--id", dest="feed_id", help="the feed id (default: from its title)")
    add.add_argument("--name", help="credit the partner as (default: the feed's title)")
    add.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    add.add_argument("--pick", type=int, help="which of the page's feeds (1, 2, ...)")
    add.add_argument("--dry-run", action="store_true", help="show the entry, write nothing")
    add.add_argument("--allow-private-networks", action="store_true", help=private_help)
    imp = verbs.add_parser("import", parents=[common], help="add the feeds of an OPML file")
    imp.add_argument("opml", type=Path, help="an OPML file (feed reader export)")
    imp.add_argument("--kind", choices=kinds, default="article", help="unless its category says")
    imp.add_argument("--dry-run", action="store_true", help="show the entries, write nothing")
    export = verbs.add_parser("export", parents=[common], help="feeds.yaml's feeds as OPML 2.0")
    export.add_argument("-o", "--output", type=Path, help="write here (default: stdout)")
    preview = verbs.add_parser(
        "preview", parents=[common], help="a dry run of one feed: what a pass would do"
    )
    preview.add_argument("url", nargs="?", help="the feed's URL")
    preview.add_argument("--feed", dest="feed_id", metavar="ID", help="a feed of feeds.yaml")
    preview.add_argument("--kind", choices=kinds, help="preview as this kind")
    preview.add_argument("--json", action="store_true", help="print one JSON document")
    preview.add_argument("--allow-private-networks", action="store_true", help=private_help)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    # We log one line per feed and event ourselves; the libraries' own lines only at DEBUG.
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for name in ("httpx", "apscheduler", "uvicorn.error"):
        logging.getLogger(name).setLevel(max(quiet, logging.getLevelName(level)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.log_level not in LOG_LEVELS:  # argparse checks --log-level, not its default
        parser.error(
            f"SYNDICATOR_LOG_LEVEL={os.environ.get('SYNDICATOR_LOG_LEVEL')} is not a log "
            f"level; use one of {', '.join(LOG_LEVELS)}"
        )
    configure_logging(args.log_level)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "check": cmd_check,
        "fetch": cmd_fetch,
        "publish": cmd_publish,
        "status": cmd_status,
        "serve": cmd_serve,
        "run": cmd_run,
        "demo": cmd_demo,
        "add": cmd_add,
        "import": cmd_import,
        "export": cmd_export,
        "preview": cmd_preview,
        "explain": cmd_explain,
    }
    try:
        return handlers[args.verb](args)
    except ConfigError as error:
        _print_problems(error)
        if args.verb == "status" and args.json:  # a script reading stdout gets its document
            path = args.config or _default_config()
            problems = [str(problem) for problem in error.problems]
            print(
                json.dumps(unreadable_config_document(path, problems), indent=2, ensure_ascii=False)
            )
        if args.verb == "status" and (args.config or _default_config()).exists():
            print(
                "a `syndicator run` started before the edit keeps polling on the last good "
                "feeds.yaml: its /status page shows every partner, and these problems",
                file=sys.stderr,
            )
        return EXIT_CONFIG
    except (StoreError, PublishError, UsageError, DatabaseBusy, OperatorError) as error:
        print(f"syndicator: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # The reader of our output went away (`status --json | head`): nothing is wrong. Point
        # stdout at /dev/null so flushing it at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _print_problems(error: ConfigError) -> None:
    for problem in error.problems:
        print(problem, file=sys.stderr)
    count = len(error.problems)
    print(f"{count} problem{'s' if count != 1 else ''} in the configuration", file=sys.stderr)


def _config(args: argparse.Namespace) -> Config:
    path = args.config or _default_config()
    if not path.exists():
        # Often run from another folder than the service's (sudo, cron): say where we looked.
        how = "give its path with -c FILE or SYNDICATOR_CONFIG=FILE"
        message = f"no such file: {path.resolve()}; {how}"
        raise ConfigError([Problem(str(path), 1, "", message)])
    return load_config(path)


def cmd_explain(args: argparse.Namespace) -> int:
    config = _config(args)
    if not config.storage.database.exists():
        raise UsageError(f"no database at {config.storage.database}: run `syndicator fetch` first")
    priorities = {feed.id: feed.priority for feed in config.feeds}
    with Store(config.storage.database) as store:
        credit = partners(config, store.feed_states())
        try:
            explanation = explain.explain(store, args.reference, priorities, credit)
        except explain.NotFound as error:
            raise UsageError(str(error)) from error
    if args.json:
        print(json.dumps(explanation.to_json(), indent=2, ensure_ascii=False))
    else:
        print(explain.render(explanation), end="")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    config = _config(args)
    enabled = len(config.enabled_feeds)
    print(f"{config.path}: ok ({counted(len(config.feeds), 'feed')}, {enabled} enabled)")
    return EXIT_OK


def _selected_feeds(
    config: Config, wanted: Sequence[str], store: Store | None = None
) -> list[FeedConfig]:
    if not wanted:
        # A feed that answered 410 Gone is skipped until feeds.yaml changes (`--feed ID`
        # still fetches it): the same rule as the service's (schedule.py).
        states = store.feed_states() if store else {}
        gone = [feed for feed in config.enabled_feeds if is_gone(feed, states.get(feed.id))]
        for feed in gone:
            log.warning(
                "%s: skipped: HTTP 410 Gone; remove it from feeds.yaml (line %d)",
                feed.id,
                feed.line,
            )
        return [feed for feed in config.enabled_feeds if feed not in gone]
    known = {feed.id: feed for feed in config.feeds}
    selected = []
    for feed_id in dict.fromkeys(wanted):
        if feed_id not in known:
            close = difflib.get_close_matches(feed_id, list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"no feed {feed_id!r} in {config.path}{hint}")
        selected.append(known[feed_id])
    return selected


def cmd_fetch(args: argparse.Namespace) -> int:
    config = _config(args)
    _selected_feeds(config, args.feed)  # an unknown --feed is refused before anything else
    with DatabaseLock(config.storage.database, "fetch"), Store(config.storage.database) as store:
        feeds = _selected_feeds(config, args.feed, store)
        if not feeds and config.enabled_feeds:
            print(
                "syndicator: every enabled feed answered 410 Gone; nothing fetched", file=sys.stderr
            )
            return EXIT_FAILED
        report = _run_pass_with_progress(config, store, feeds)
    _print_summary(report)
    if feeds and report.count("failed") == len(feeds):
        return EXIT_FAILED
    return EXIT_OK


def _run_pass_with_progress(config: Config, store: Store, feeds: list[FeedConfig]) -> PassReport:
    if not sys.stderr.isatty():
        return run_pass(config, store, feeds)
    with Progress(transient=True) as progress:
        task = progress.add_task("fetching", total=len(feeds))
        return run_pass(config, store, feeds, on_fetched=lambda _: progress.advance(task))


def _print_summary(report: PassReport) -> None:
    failed = [f for f in report.feeds if f.outcome == "failed"]
    for feed in failed:
        print(f"failed: {feed.message}", file=sys.stderr)
    written = len(report.published.written) if report.published else 0
    print(
        f"{counted(len(report.feeds), 'feed')}: {report.count('ok')} ok, "
        f"{report.count('not_modified')} not modified, {len(failed)} failed; "
        f"{counted(report.new_stories, 'new story')}, {report.updated_entries} updated; "
        f"{counted(written, 'file')} written"
    )


def cmd_publish(args: argparse.Namespace) -> int:
    config = _config(args)
    with DatabaseLock(config.storage.database, "publish"), Store(config.storage.database) as store:
        report = publish_from_store(config, store)
    print(
        f"published to {config.storage.output_dir}: "
        f"{counted(len(report.written), 'file')} written, {len(report.unchanged)} unchanged"
    )
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    config = _config(args)
    with Store(config.storage.database, create=False) as store:
        document = status_document(config, store)
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        status_table(document)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    config = _config(args)
    output = config.storage.output_dir
    output.mkdir(parents=True, exist_ok=True)
    sock = _bind(args.host or config.server.host, _port(args, config))
    print(f"serving {output} at {socket_url(sock)} (Ctrl-C to stop)", flush=True)
    asyncio.run(serve_until_signalled(HttpServer(create_app(static_site(config)), sock)))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    config = _config(args)
    with DatabaseLock(config.storage.database, "run"):
        sock = _bind(args.host or config.server.host, _port(args, config))

        def server(site: Site) -> HttpServer:
            return HttpServer(create_app(site), sock)

        def ready() -> None:
            feeds = len(config.enabled_feeds)
            print(
                f"polling {counted(feeds, 'feed')}; serving {config.storage.output_dir} at "
                f"{socket_url(sock)} (Ctrl-C to stop)",
                flush=True,
            )

        service = Service(config, args.config or _default_config(), server)
        stopped_cleanly = asyncio.run(run_until_signalled(service, ready))
    return EXIT_OK if stopped_cleanly else EXIT_FAILED


def _port(args: argparse.Namespace, config: Config) -> int:
    return int(args.port) if args.port is not None else config.server.port


def _bind(host: str, port: int) -> socket.socket:
    try:
        return bind(host, port)
    except OSError as error:
        raise UsageError(
            f"cannot listen on {host}:{port} ({error.strerror or error}); set server.host / "
            "server.port in feeds.yaml or pass --host / --port (--port 0: any free port)"
        ) from error


def cmd_demo(args: argparse.Namespace) -> int:
    folder = demo.demo_folder(args.dir)
    partner_server = demo.start_partner_server(folder)
    try:
        sock = demo.output_socket(folder, args.host, args.port)
    except OSError as error:
        raise UsageError(
            f"cannot serve the demo on {args.host}:{args.port} ({error.strerror}); "
            "pick another with --port (0: any free port)"
        ) from error
    partners_url = demo.partner_url(partner_server)
    config_path = demo.write_demo_config(folder, partners_url, socket_url(sock))
    print(f"demo partners served at {partners_url}")
    print(f"demo configuration: {config_path}")
    config = load_config(config_path)
    with Store(config.storage.database) as store:
        report = run_pass(config, store, list(config.enabled_feeds))
    _print_summary(report)
    if args.no_serve:
        sock.close()
        partner_server.shutdown()
        print(f"published files: {config.storage.output_dir}")
        return EXIT_OK
    url = socket_url(sock)
    print(f"merged feeds: {url}index.html  {url}all.atom  {url}all.rss  {url}all.json")
    print(f"service pages: {url}status  {url}status.json  {url}metrics  {url}healthz")
    print("Ctrl-C to stop", flush=True)
    asyncio.run(serve_until_signalled(HttpServer(create_app(static_site(config)), sock)))
    partner_server.shutdown()
    if args.dir is None:  # nothing to keep: the files were only served
        shutil.rmtree(folder, ignore_errors=True)
    return EXIT_OK


def status_table(document: dict[str, Any]) -> None:
    """The status document as a table for people (times in UTC; all fields in --json).

    The table fits 80 columns; each feed's problem follows it as a whole sentence, which a
    table column would fold into a narrow strip (a terminal over SSH, a cron mail).
    """
    table = Table(
        title=(
            f"{counted(document['stories'], 'story')} from "
            f"{counted(document['entries'], 'entry')} (times UTC)"
        ),
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,  # two spaces between columns, not three: room for the ids
    )
    table.add_column("feed", overflow="fold")  # ids run to 64 characters: folded, not cut
    for heading in ("health", "HTTP", "entries", "errors", "last success", "next due"):
        numeric = heading in {"HTTP", "entries", "errors"}
        justify: JustifyMethod = "right" if numeric else "left"
        table.add_column(heading, no_wrap=True, min_width=len(heading), justify=justify)
    colours = {"ok": "green", "failing": "red", "new": "yellow", "disabled": "dim"}
    problems: list[str] = []
    for feed in document["feeds"]:
        health = feed["health"]
        table.add_row(
            feed["id"],
            f"[{colours[health]}]{health}[/]",
            str(feed["http_status"] or "-"),
            str(feed["entries"]),
            str(feed["consecutive_errors"]),
            _short_time(feed["last_success"]),
            _short_time(feed["next_due"]),
        )
        problem = feed["disabled_reason"] or feed["last_error"] or feed["warning"]
        if problem:
            named = problem if problem.startswith(f"{feed['id']}:") else f"{feed['id']}: {problem}"
            problems.append(named)
    console = Console()
    console.print(table)
    for problem in problems:  # printed as is: a long sentence wraps where the terminal does
        console.print(problem, soft_wrap=True, markup=False, highlight=False)


def _short_time(value: str | None) -> str:
    """``2026-11-25T13:12:00+00:00`` as ``11-25 13:12``."""
    return f"{value[5:10]} {value[11:16]}" if value else "-"


# --- managing partners: add, import, export, preview ---------------------------------------


def cmd_add(args: argparse.Namespace) -> int:
    config = _config(args)
    plan = plan_add(
        config,
        args.url,
        kind=args.kind,
        feed_id=args.feed_id,
        name=args.name,
        tags=args.tag,
        pick=args.pick,
        allow_private_networks=args.allow_private_networks,
    )
    path = args.config or _default_config()  # problems name the file as the operator did
    appended = append_feeds(path, [plan.feed], write=not args.dry_run)
    print(describe_add(plan, config.path.name, appended, written=not args.dry_run), end="")
    if not args.dry_run:
        cmd_check(args)
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    config = _config(args)
    try:
        opml = args.opml.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {args.opml}: {error.strerror or error}") from error
    plan = plan_import(config, opml, kind=args.kind)
    path = args.config or _default_config()  # problems name the file as the operator did
    appended = append_feeds(path, plan.added, write=not args.dry_run) if plan.added else None
    written = appended is not None and not args.dry_run
    print(describe_import(plan, config.path.name, appended, dry_run=args.dry_run), end="")
    if written:
        cmd_check(args)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    document = export_opml(_config(args))
    if args.output is None:
        sys.stdout.buffer.write(document)
        sys.stdout.flush()
        return EXIT_OK
    try:
        args.output.write_bytes(document)
    except OSError as error:
        raise UsageError(f"cannot write {args.output}: {error.strerror or error}") from error
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_preview(args: argparse.Namespace) -> int:
    if (args.url is None) == (args.feed_id is None):
        raise UsageError("preview needs a feed URL or --feed ID (one of them)")
    report = preview_feed(
        _config(args),
        url=args.url,
        feed_id=args.feed_id,
        kind=args.kind,
        allow_private_networks=args.allow_private_networks,
    )
    print(render_json(report) if args.json else render_text(report), end="")
    return EXIT_OK if report.ok else EXIT_FAILED
