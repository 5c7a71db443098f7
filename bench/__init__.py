"""The syndicator benchmark (issue 8): ``python -m bench.run`` or ``make bench``.

world.py     a partner world generated from a seed: feed specs and feed bytes
partners.py  serves that world on 127.0.0.1 from its own process (ETag, Last-Modified)
runner.py    one measured syndicator job in its own process (cold, warm, changed, publish)
baseline.py  the ~30-line script a user would write instead (feedparser + feedgen)
run.py       starts the partners, runs every job, prints the table, writes results.json
"""
