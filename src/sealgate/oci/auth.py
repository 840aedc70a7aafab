"""Registry authentication: ``WWW-Authenticate`` parsing, Bearer token dance, Basic.

Distribution token auth (``docs/spec/auth/token.md``): a 401 carries
``Bearer realm="...",service="...",scope="..."``; we fetch a token from the realm (with
Basic credentials, or an identity token as an OAuth2 refresh token) and retry. Tokens
are cached per registry and scope until shortly before they expire.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from sealgate.deadline import Deadline
from sealgate.errors import (
    DeadlineExceeded,
    LimitExceeded,
    RegistryError,
    RegistryUnreachable,
    Unauthorized,
)
from sealgate.oci.credentials import Credentials, CredentialStore

__all__ = ["Authenticator", "Challenge", "parse_www_authenticate"]

logger = logging.getLogger(__name__)

_MAX_TOKEN_RESPONSE = 1024 * 1024
_DEFAULT_EXPIRY_S = 60.0
#: Longest lifetime we believe (a day): a token server's ``expires_in`` is untrusted input.
_MAX_EXPIRY_S = 86400.0
#: Renew this long before expiry so a token does not die in flight.
_EXPIRY_MARGIN_S = 10.0
_ANY_SCOPE = "*"


@dataclass(frozen=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header; scheme lowercased."""

    scheme: str
    params: dict[str, str]


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _read_token(text: str, i: int) -> tuple[str, int]:
    start = i
    while i < len(text) and text[i] not in ' \t,="':
        i += 1
    return text[start:i], i


def _read_quoted(text: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    i += 1  # opening quote
    while i < len(text) and text[i] != '"':
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i + 1


def parse_www_authenticate(header: str) -> list[Challenge]:
    """Parse a ``WWW-Authenticate`` value (RFC 7235) into challenges.

    Quoted values may contain commas (``scope="repository:a:pull,push"``); malformed
    parts are skipped rather than raised, since a 401 is reported anyway.
    """
    challenges: list[Challenge] = []
    i = 0
    current: Challenge | None = None
    while i < len(header):
        i = _skip_space(header, i)
        if i < len(header) and header[i] == ",":
            i += 1
            continue
        word, i = _read_token(header, i)
        if not word:
            i += 1
            continue
        j = _skip_space(header, i)
        if j < len(header) and header[j] == "=" and current is not None:
            j = _skip_space(header, j + 1)
            if j < len(header) and header[j] == '"':
                value, i = _read_quoted(header, j)
            else:
                value, i = _read_token(header, j)
            current.params[word.lower()] = value
        else:
            current = Challenge(word.lower(), {})
            challenges.append(current)
    return challenges


def _basic(creds: Credentials) -> str:
    raw = f"{creds.username or ''}:{creds.password or ''}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _token_lifetime(expires: object) -> float:
    """Seconds a token lives: ``expires_in`` if it is a sane number, clamped to a day.

    JSON allows 1e400 (infinity), ``NaN`` and integers of any size; none may reach the
    monotonic-clock arithmetic, where they would overflow or never expire.
    """
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        return _DEFAULT_EXPIRY_S
    if isinstance(expires, float) and math.isnan(expires):
        return _DEFAULT_EXPIRY_S
    if expires <= 0:
        return _DEFAULT_EXPIRY_S
    # Compare before converting: float(10**400) raises OverflowError.
    return _MAX_EXPIRY_S if expires >= _MAX_EXPIRY_S else float(expires)


def _token_request(
    realm: httpx.URL, scope: str, challenge: Challenge, creds: Credentials | None
) -> httpx.Request:
    """Build the token request: OAuth2 refresh with an identity token, else GET."""
    scopes = [scope]
    for extra in challenge.params.get("scope", "").split(" "):
        if extra and extra not in scopes:
            scopes.append(extra)
    service = challenge.params.get("service")
    if creds is not None and creds.identity_token:
        form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token}
        form |= {"client_id": "sealgate", "scope": " ".join(scopes)}
        if service:
            form["service"] = service
        return httpx.Request("POST", realm, data=form)
    params: list[tuple[str, str | int | float | bool | None]] = [("scope", s) for s in scopes]
    if service:
        params.insert(0, ("service", service))
    headers = {}
    if creds is not None and creds.username:
        headers["Authorization"] = _basic(creds)
    return httpx.Request("GET", realm.copy_merge_params(params), headers=headers)


class Authenticator:
    """Authorization headers per (registry, scope), shared by all threads."""

    def __init__(
        self,
        credentials: CredentialStore,
        *,
        send: Callable[[httpx.Request, Deadline], httpx.Response],
        realm_allowed: Callable[[str, httpx.URL, bool], str | None],
    ) -> None:
        """Create an authenticator.

        Args:
            credentials: where usernames and passwords come from.
            send: sends a token request (with the backend's TLS, retries, and the deadline).
            realm_allowed: given a registry, a token realm URL and whether we would send
                credentials, why that realm may not be asked (``None`` when it may).
        """
        self._credentials = credentials
        self._send = send
        self._realm_allowed = realm_allowed
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}
        self._cache_lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}

    def cached(self, registry: str, scope: str) -> str | None:
        """Return a still-valid header for ``scope`` (or registry-wide Basic), if any."""
        now = time.monotonic()
        with self._cache_lock:
            for key in ((registry, scope), (registry, _ANY_SCOPE)):
                hit = self._cache.get(key)
                if hit is not None and hit[1] > now:
                    return hit[0]
        return None

    def secrets(self, registry: str, repository: str) -> list[str]:
        """Strings that must never appear in messages for this registry."""
        creds = self._credentials.lookup(registry, repository)
        with self._cache_lock:
            tokens = [v[0].split(" ", 1)[-1] for k, v in self._cache.items() if k[0] == registry]
        return (creds.secrets() if creds else []) + tokens

    def on_challenge(
        self,
        registry: str,
        repository: str,
        scope: str,
        headers: list[str],
        used: str | None,
        *,
        deadline: Deadline,
    ) -> str | None:
        """Answer a 401: return a new ``Authorization`` value, or ``None`` if we have none.

        Args:
            registry: normalised registry name (cache key, credential lookup).
            repository: repository, for namespace-specific credentials.
            scope: the scope our request needs (``repository:<repo>:pull``...).
            headers: every ``WWW-Authenticate`` value of the 401.
            used: the ``Authorization`` value the failed request carried.
            deadline: when to give up on the token server.

        Raises:
            Unauthorized: the token server refused our credentials (401/403).
            RegistryError: the realm is refused, or the token server failed or answered garbage.
            RegistryUnreachable: the token server could not be reached.
            DeadlineExceeded: the deadline passed while asking for a token.
        """
        challenges = [c for h in headers for c in parse_www_authenticate(h)]
        key = (registry, scope)
        with self._cache_lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        # One thread fetches; the others wait and reuse its token.
        with lock:
            fresh = self.cached(registry, scope)
            if fresh is not None and fresh != used:
                return fresh
            creds = self._credentials.lookup(registry, repository)
            for challenge in challenges:
                if challenge.scheme == "bearer" and "realm" in challenge.params:
                    header, ttl = self._fetch_token(registry, scope, challenge, creds, deadline)
                    self._store(key, header, ttl)
                    return header
            for challenge in challenges:
                if challenge.scheme == "basic" and creds is not None and creds.username:
                    header = _basic(creds)
                    if header == used:
                        return None
                    # Basic is not scoped: one header serves the whole registry.
                    self._store((registry, _ANY_SCOPE), header, 365 * 86400.0)
                    return header
        return None

    def _store(self, key: tuple[str, str], header: str, ttl: float) -> None:
        with self._cache_lock:
            self._cache[key] = (header, time.monotonic() + ttl)

    def _fetch_token(
        self,
        registry: str,
        scope: str,
        challenge: Challenge,
        creds: Credentials | None,
        deadline: Deadline,
    ) -> tuple[str, float]:
        try:
            realm = httpx.URL(challenge.params["realm"])
        except httpx.InvalidURL as e:
            raise RegistryError(f"{registry}: the token realm is not a URL") from e
        credentialed = creds is not None and bool(creds.username or creds.identity_token)
        refusal = self._realm_allowed(registry, realm, credentialed)
        if refusal is not None:
            raise RegistryError(
                f"{registry}: refusing token realm {realm.scheme}://{realm.host}: {refusal}"
            )
        request = _token_request(realm, scope, challenge, creds)
        response = self._send(request, deadline)
        try:
            body = self._read_small(response, registry, deadline)
        finally:
            response.close()
        status = response.status_code
        if status in (401, 403):
            raise Unauthorized(
                f"{registry}: token server refused authentication (HTTP {status})",
                status=status,
                code="UNAUTHORIZED" if status == 401 else "DENIED",
            )
        if status != 200:
            raise RegistryError(
                f"{registry}: token server failed (HTTP {status})", status=status, code=None
            )
        try:
            answer = json.loads(body)
            token = answer.get("token") or answer.get("access_token")
            expires = answer.get("expires_in", _DEFAULT_EXPIRY_S)
        except (ValueError, AttributeError, RecursionError) as e:
            raise RegistryError(f"{registry}: token server answered malformed JSON") from e
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{registry}: token server answered without a token")
        lifetime = _token_lifetime(expires)
        ttl = max(lifetime - _EXPIRY_MARGIN_S, lifetime / 2)
        logger.debug("got token for %s scope %s (ttl %.0fs)", registry, scope, ttl)
        return "Bearer " + token, ttl

    @staticmethod
    def _read_small(response: httpx.Response, registry: str, deadline: Deadline) -> bytes:
        parts: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_bytes():
                if deadline.expired():
                    raise DeadlineExceeded(f"{registry}: deadline exceeded reading a token")
                total += len(chunk)
                if total > _MAX_TOKEN_RESPONSE:
                    raise LimitExceeded(f"{registry}: token server response too large")
                parts.append(chunk)
        except httpx.HTTPError as e:
            if deadline.expired():
                raise DeadlineExceeded(f"{registry}: deadline exceeded reading a token") from e
            raise RegistryUnreachable(
                f"{registry}: reading token failed: {type(e).__name__}"
            ) from e
        return b"".join(parts)
