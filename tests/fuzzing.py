"""The Hypothesis settings of every property test (tests/test_fuzz.py, test_events.py,
test_similarity.py), in one place."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def fuzz_settings(examples: int, *, slow_examples: bool = False) -> settings:
    """``examples`` per test (``FUZZ_EXAMPLES`` overrides it, e.g. for a long run).

    No .hypothesis/ folder in the work tree (a failure prints its example). CI explores a
    fixed sequence so a red build is reproducible (Hypothesis' advice for CI); developer
    runs explore new random examples every time. ``slow_examples``: big generated inputs
    are the point, not a health problem.
    """
    return settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", str(examples))),
        deadline=None,
        database=None,
        derandomize=os.environ.get("CI") == "true",
        suppress_health_check=(
            [HealthCheck.too_slow, HealthCheck.data_too_large] if slow_examples else []
        ),
    )
