"""WebSub publisher ping: tell the hub (``site.websub_hub``) which published feeds changed.

The published Atom, RSS and JSON feeds announce the hub (publish.py); after a publish that
rewrote some of them, the service POSTs ``hub.mode=publish`` and ``hub.url=<feed URL>`` to
the hub, once per changed feed, so subscribers hear of new stories without polling.
A hub that is down costs a log line, never a publish.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import httpx

log = logging.getLogger(__name__)

FEED_SUFFIXES = (".atom", ".rss", ".json")
PING_TIMEOUT = 10.0  # seconds, per ping


def changed_topics(site_url: str, written: Iterable[str]) -> list[str]:
    """Public URLs of the published feeds among the files a publish rewrote."""
    return [site_url + name for name in sorted(written) if name.endswith(FEED_SUFFIXES)]


async def ping_hub(hub: str, topics: Sequence[str], user_agent: str) -> int:
    """POST one publish notification per topic; returns how many the hub accepted (2xx)."""
    accepted = 0
    async with httpx.AsyncClient(
        timeout=PING_TIMEOUT, trust_env=False, headers={"User-Agent": user_agent}
    ) as client:
        for topic in topics:
            try:
                response = await client.post(hub, data={"hub.mode": "publish", "hub.url": topic})
            except httpx.HTTPError as error:
                log.warning("websub: could not ping the hub %s for %s: %s", hub, topic, error)
                continue
            if response.is_success:
                accepted += 1
            else:
                log.warning(
                    "websub: the hub %s answered HTTP %d for %s", hub, response.status_code, topic
                )
    if accepted:
        log.info("websub: pinged %s for %d changed feeds", hub, accepted)
    return accepted
