"""Hypothesis settings for the property tests: a fixed budget that fits CI, no deadlines."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# A property test runs a parser thousands of times; wall-clock deadlines would make it flaky
# on a loaded CI machine, so the budget is the number of examples instead.
settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("SEALGATE_PROPERTY_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
# A longer, randomised hunt for a developer's machine: SEALGATE_PROPERTY_PROFILE=explore.
settings.register_profile(
    "explore", max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("SEALGATE_PROPERTY_PROFILE", "ci"))
