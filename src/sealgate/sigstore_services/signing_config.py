"""Sigstore ``SigningConfig`` (protobuf-specs ``trustroot/v1``): which services a signer uses.

A private Sigstore deployment describes its Fulcio, OIDC, Rekor and TSA URLs in one file
(``cosign sign --signing-config``). Media types v0.2 (``caUrls``/``rekorTlogUrls``/``tsaUrls``
as services with an API version and a validity window, plus selectors for logs and TSAs) and
v0.1 (plain URLs). Selection follows sigstore-go ``root.SelectService(s)``: services valid now
whose major API version sealgate speaks (Fulcio 1, Rekor 1, TSA 1), the highest version first;
``ANY`` takes one, ``EXACT`` takes ``count`` (fewer is an error), ``ALL`` takes every one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sealgate.errors import ConfigError

__all__ = ["SIGNING_CONFIG_MEDIA_TYPES", "ServiceEndpoint", "SigningConfig", "parse_signing_config"]

SIGNING_CONFIG_MEDIA_TYPES = (
    "application/vnd.dev.sigstore.signingconfig.v0.2+json",
    "application/vnd.dev.sigstore.signingconfig.v0.1+json",
)
_MAX_SERVICES = 32
_SELECTORS = ("ANY", "ALL", "EXACT")


@dataclass(frozen=True)
class ServiceEndpoint:
    """One service of the config.

    Attributes:
        url: The service's base URL (a TSA's full endpoint).
        major_api_version: The API version it speaks.
        start: Start of its validity window (None: always).
        end: End of its validity window (None: open).
    """

    url: str
    major_api_version: int = 1
    start: datetime | None = None
    end: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        return (self.start is None or self.start <= now) and (self.end is None or now <= self.end)


@dataclass(frozen=True)
class Selection:
    """How many of a kind of service to use: ``ANY``, ``ALL`` or ``EXACT`` with a count."""

    selector: str = "ANY"
    count: int = 1


def select_services(
    services: Sequence[ServiceEndpoint],
    selection: Selection,
    *,
    supported: Sequence[int],
    now: datetime,
    kind: str,
) -> list[ServiceEndpoint]:
    """The services to use now (empty when the config lists none of this kind).

    Raises:
        ConfigError: services are listed but none is valid now in a supported version, or
            ``EXACT`` asks for more than there are.
    """
    if not services:
        return []
    usable = [s for s in services if s.valid_at(now) and s.major_api_version in supported]
    if not usable:
        versions = sorted({s.major_api_version for s in services})
        raise ConfigError(
            f"signing config: no {kind} service is valid now in a supported API version "
            f"(listed versions {versions}, supported {list(supported)})"
        )
    top = max(s.major_api_version for s in usable)
    candidates = [s for s in usable if s.major_api_version == top]
    if selection.selector == "ALL":
        return candidates
    if selection.selector == "EXACT":
        if len(candidates) < selection.count:
            raise ConfigError(
                f"signing config asks for {selection.count} {kind} services, "
                f"{len(candidates)} are usable"
            )
        return candidates[: selection.count]
    return candidates[:1]


@dataclass(frozen=True)
class SigningConfig:
    """The services of a signing config."""

    fulcio: tuple[ServiceEndpoint, ...] = ()
    oidc: tuple[ServiceEndpoint, ...] = ()
    rekor: tuple[ServiceEndpoint, ...] = ()
    rekor_selection: Selection = Selection()
    tsa: tuple[ServiceEndpoint, ...] = ()
    tsa_selection: Selection = Selection()


def _time(value: object, what: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"signing config: {what} is not a timestamp")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(f"signing config: {what} is not an RFC 3339 timestamp") from exc


def _services(value: object, what: str) -> tuple[ServiceEndpoint, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > _MAX_SERVICES:
        raise ConfigError(f"signing config: {what} is not a list of at most {_MAX_SERVICES}")
    found = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("url"), str) or not item["url"]:
            raise ConfigError(f"signing config: {what}[{index}] has no url")
        version = item.get("majorApiVersion", 1)
        if isinstance(version, bool) or not isinstance(version, int):
            raise ConfigError(f"signing config: {what}[{index}].majorApiVersion is not a number")
        valid = item.get("validFor") or {}
        if not isinstance(valid, dict):
            raise ConfigError(f"signing config: {what}[{index}].validFor is not an object")
        found.append(
            ServiceEndpoint(
                url=item["url"],
                major_api_version=version,
                start=_time(valid.get("start"), f"{what}[{index}].validFor.start"),
                end=_time(valid.get("end"), f"{what}[{index}].validFor.end"),
            )
        )
    return tuple(found)


def _selection(value: object, what: str) -> Selection:
    if value is None:
        return Selection()
    if not isinstance(value, dict):
        raise ConfigError(f"signing config: {what} is not an object")
    selector = value.get("selector", "ANY")
    count = value.get("count", 1)
    if selector not in _SELECTORS:
        raise ConfigError(f"signing config: {what}.selector must be one of {_SELECTORS}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"signing config: {what}.count must be a positive number")
    return Selection(str(selector), count)


def _v01(doc: dict[str, Any]) -> SigningConfig:
    def urls(value: object, what: str) -> tuple[ServiceEndpoint, ...]:
        items = [value] if isinstance(value, str) else value
        if items is None:
            return ()
        if not isinstance(items, list) or not all(isinstance(u, str) for u in items):
            raise ConfigError(f"signing config: {what} is not a list of URLs")
        return tuple(ServiceEndpoint(url) for url in items[:_MAX_SERVICES] if url)

    return SigningConfig(
        fulcio=urls(doc.get("caUrl"), "caUrl"),
        oidc=urls(doc.get("oidcUrl"), "oidcUrl"),
        rekor=urls(doc.get("tlogUrls"), "tlogUrls"),
        tsa=urls(doc.get("tsaUrls"), "tsaUrls"),
    )


def parse_signing_config(raw: bytes, *, source: str = "signing config") -> SigningConfig:
    """Parse a ``SigningConfig`` (or the signing config inside a ``ClientTrustConfig``).

    Raises:
        ConfigError: not JSON, an unknown media type, or a malformed service list.
    """
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{source}: not valid JSON") from exc
    if isinstance(doc, dict) and isinstance(doc.get("signingConfig"), dict):
        doc = doc["signingConfig"]  # a ClientTrustConfig
    if not isinstance(doc, dict) or doc.get("mediaType") not in SIGNING_CONFIG_MEDIA_TYPES:
        shown = str(doc.get("mediaType") if isinstance(doc, dict) else None)[:80]
        raise ConfigError(f"{source}: unsupported media type {shown}")
    if doc["mediaType"].endswith("v0.1+json"):
        return _v01(doc)
    return SigningConfig(
        fulcio=_services(doc.get("caUrls"), "caUrls"),
        oidc=_services(doc.get("oidcUrls"), "oidcUrls"),
        rekor=_services(doc.get("rekorTlogUrls"), "rekorTlogUrls"),
        rekor_selection=_selection(doc.get("rekorTlogConfig"), "rekorTlogConfig"),
        tsa=_services(doc.get("tsaUrls"), "tsaUrls"),
        tsa_selection=_selection(doc.get("tsaConfig"), "tsaConfig"),
    )
