"""syndicator: partner feeds in, clean merged feeds out.

One pass, drawn as a shell pipeline (each stage is a module of this package)::

    config.load_config(feeds.yaml)          # typed, line-numbered validation
      | fetch.fetch_all                      # httpx: conditional GET, total deadline, size cap
      | parse.parse_feed                     # feedparser (RSS/Atom/RDF) or our JSON Feed reader
      | normalize.normalize_entries          # plain-text titles, nh3-sanitized HTML, UTC dates
      | dedupe.assign_stories                # entries -> stories, ids that never change
      | store.Store.apply                    # SQLite, one transaction per feed
      | publish.render_all | publish.write_output   # Atom, RSS, JSON Feed, OPML, index.html

``pipeline.run_pass`` runs it; ``cli`` is the command line on top. ``syndicator run``
(``service``) runs the same stages one feed at a time, each on its own schedule
(``schedule.next_poll``), publishes once after a burst of changes, and serves the result
(``server``: Starlette + uvicorn, ``/healthz``, ``/status``, ``/metrics``).
A partner *feed* has *entries*; entries that carry the same news form one *story*;
the files we write are the *published feeds*.
"""

__version__ = "0.1.0"
