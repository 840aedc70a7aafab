"""What every property test of a parser asserts: bad input raises sealgate's errors only."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from sealgate.errors import SealgateError


def only_own_errors(parse: Callable[[], object]) -> None:
    """Run ``parse``; a :class:`SealgateError` is fine, any other exception fails the test."""
    with contextlib.suppress(SealgateError):
        parse()
