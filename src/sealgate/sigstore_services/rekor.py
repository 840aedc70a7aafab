"""Rekor API v1 client: add an entry to the transparency log, read entries back.

``POST /api/v1/log/entries`` takes a proposed entry and answers 201 with ``{<entry UUID>:
LogEntry}``; an entry that is already in the log answers 409 with its ``Location``, which is then
read with ``GET``. What the entry says is checked by the caller
(:func:`sealgate.formats.rekor_api.parse_log_entry` and the binding checks): this client only
moves bytes. (rekor ``openapi.yaml``.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from sealgate.deadline import Deadline
from sealgate.errors import ServiceError
from sealgate.sigstore_services.transport import ServiceTransport

__all__ = ["RekorClient"]

_MAX_ANSWER = 8 * 1024 * 1024  # an entry holds a body of a few KiB, a proof and a checkpoint


def _entry(doc: object) -> dict[str, Any]:
    if not isinstance(doc, dict) or len(doc) != 1:
        raise ServiceError("Rekor's answer is not a single log entry")
    return doc


class RekorClient:
    """One Rekor v1 log."""

    def __init__(self, transport: ServiceTransport, base_url: str) -> None:
        self._transport = transport
        self.base_url = base_url.rstrip("/")

    def create_entry(self, proposed: Mapping[str, object], *, deadline: Deadline) -> dict[str, Any]:
        """Add ``proposed`` to the log (or find the equal entry already there).

        Returns:
            ``{<entry UUID>: <LogEntry JSON>}``.

        Raises:
            ServiceRefused: Rekor refused the entry (4xx other than 409).
            ServiceError: Rekor failed (5xx) or answered with something else than an entry.
            CheckFailed: Rekor could not be reached in time (subclasses).
        """
        url = f"{self.base_url}/api/v1/log/entries"
        answer = self._transport.request(
            "Rekor",
            "POST",
            url,
            deadline=deadline,
            max_bytes=_MAX_ANSWER,
            content=json.dumps(proposed).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            accept=(201, 409),
        )
        if answer.status == 409:
            # The same entry was logged before (deterministic signatures): read that one.
            location = answer.headers.get("location")
            if not location:
                raise ServiceError("Rekor says the entry is already logged, but not where")
            return self.get_entry(urljoin(url, location), deadline=deadline)
        return _entry(answer.json("Rekor"))

    def get_entry(self, url: str, *, deadline: Deadline) -> dict[str, Any]:
        """Read one entry by its URL (``.../api/v1/log/entries/<uuid>``).

        Raises:
            ServiceRefused: no such entry (404) or another 4xx.
            ServiceError: Rekor failed or answered with something else than an entry.
            CheckFailed: Rekor could not be reached in time (subclasses).
        """
        answer = self._transport.request(
            "Rekor", "GET", url, deadline=deadline, max_bytes=_MAX_ANSWER, accept=(200,)
        )
        return _entry(answer.json("Rekor"))
