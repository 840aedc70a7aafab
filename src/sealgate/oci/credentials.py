"""Registry credentials: explicit flags, containers ``auth.json``, Docker ``config.json``.

Lookup order for a registry (first hit wins):

1. ``ClientConfig.username/password`` (``--registry-username``/``--registry-password``);
2. ``REGISTRY_AUTH_FILE`` (``ClientConfig.auth_file``), as podman/skopeo do;
3. ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``): a ``credHelpers``
   entry for the registry, then the ``auths`` entry, then the global ``credsStore``.

Helpers are run as ``docker-credential-<name> get`` with the server URL on stdin, the
protocol of docker-credential-helpers. Nothing here ever logs a secret.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealgate.config import ClientConfig
from sealgate.oci.reference import DOCKER_HUB

__all__ = ["CredentialStore", "Credentials", "docker_hub_key"]

logger = logging.getLogger(__name__)

#: The key Docker uses for Docker Hub in config files and when calling helpers.
_HUB_KEY = "https://index.docker.io/v1/"
_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_HELPER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_MAX_CONFIG_BYTES = 4 * 1024 * 1024


def docker_hub_key() -> str:
    """Return the server URL Docker uses for Docker Hub credentials."""
    return _HUB_KEY


@dataclass(frozen=True)
class Credentials:
    """A username/password pair, or an identity (refresh) token for the token server."""

    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)

    def secrets(self) -> list[str]:
        """The secret strings, so error messages can be scrubbed of them."""
        return [s for s in (self.password, self.identity_token) if s]


def _normalise_key(key: str) -> tuple[str, str]:
    """Split a config key into ``(host, path)``: scheme and ``/v1/``/``/v2/`` dropped."""
    key = key.strip()
    for prefix in ("https://", "http://"):
        if key.lower().startswith(prefix):
            key = key[len(prefix) :]
    host, _, path = key.partition("/")
    host = host.lower()
    if host in _HUB_HOSTS:
        host = DOCKER_HUB
    path = path.strip("/")
    if path in ("v1", "v2"):
        path = ""
    return host, path


def _decode_entry(entry: object) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    raw_identity = entry.get("identitytoken")
    identity = raw_identity if isinstance(raw_identity, str) and raw_identity else None
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            decoded = base64.b64decode(auth, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            logger.warning("ignoring an undecodable 'auth' entry in a credentials file")
            return None
        user, sep, secret = decoded.partition(":")
        if sep:
            return Credentials(user, secret, identity)
    username, password = entry.get("username"), entry.get("password")
    if isinstance(username, str) and isinstance(password, str) and username:
        return Credentials(username, password, identity)
    if identity:
        return Credentials(identity_token=identity)
    return None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with path.open("rb") as f:
            raw = f.read(_MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        logger.warning("cannot read credentials file %s: %s", path, e.strerror)
        return None
    if len(raw) > _MAX_CONFIG_BYTES:
        logger.warning("ignoring credentials file %s: too large", path)
        return None
    try:
        obj = json.loads(raw)
    except ValueError:
        logger.warning("ignoring credentials file %s: not valid JSON", path)
        return None
    return obj if isinstance(obj, dict) else None


class CredentialStore:
    """Finds credentials for a registry; results are cached, lookups are thread-safe."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        environ: Mapping[str, str] | None = None,
        helper_timeout_s: float = 10.0,
    ) -> None:
        env = os.environ if environ is None else environ
        self._explicit: Credentials | None = None
        if config.username is not None or config.password is not None:
            self._explicit = Credentials(config.username or "", config.password or "")
        self._auth_file = config.auth_file
        if self._auth_file is None and env.get("REGISTRY_AUTH_FILE"):
            self._auth_file = Path(env["REGISTRY_AUTH_FILE"])
        self._docker_config = config.docker_config
        if self._docker_config is None:
            base = env.get("DOCKER_CONFIG")
            home = env.get("HOME")
            if base:
                self._docker_config = Path(base) / "config.json"
            elif home:
                self._docker_config = Path(home) / ".docker" / "config.json"
        self._path = env.get("PATH", os.defpath)
        self._timeout = helper_timeout_s
        self._cache: dict[tuple[str, str], Credentials | None] = {}
        self._lock = threading.Lock()

    def lookup(self, registry: str, repository: str = "") -> Credentials | None:
        """Return the credentials for ``registry`` (and ``repository``), or ``None``.

        Unreadable files and failing helpers are logged and skipped: anonymous access
        is then tried, and a registry that needs credentials answers 401.
        """
        if self._explicit is not None:
            return self._explicit
        key = (registry, repository)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        found = self._lookup_uncached(registry, repository)
        with self._lock:
            self._cache[key] = found
        return found

    def _lookup_uncached(self, registry: str, repository: str) -> Credentials | None:
        if self._auth_file is not None:
            data = _read_json(self._auth_file)
            if data is not None:
                found = self._from_auths(data.get("auths"), registry, repository)
                if found is not None:
                    return found
        if self._docker_config is None:
            return None
        data = _read_json(self._docker_config)
        if data is None:
            return None
        helper = self._helper_for(data, registry)
        if helper is not None:
            return self._run_helper(helper, registry)
        found = self._from_auths(data.get("auths"), registry, "")
        store = data.get("credsStore")
        if found is None and isinstance(store, str) and store:
            found = self._run_helper(store, registry)
        return found

    @staticmethod
    def _helper_for(data: dict[str, Any], registry: str) -> str | None:
        helpers = data.get("credHelpers")
        if not isinstance(helpers, dict):
            return None
        for name_key, helper in helpers.items():
            if (
                isinstance(name_key, str)
                and isinstance(helper, str)
                and _normalise_key(name_key)[0] == registry
            ):
                return helper
        return None

    @staticmethod
    def _from_auths(auths: object, registry: str, repository: str) -> Credentials | None:
        if not isinstance(auths, dict):
            return None
        best: tuple[int, Credentials] | None = None
        for raw_key, entry in auths.items():
            if not isinstance(raw_key, str):
                continue
            host, path = _normalise_key(raw_key)
            # containers auth.json allows "host/namespace" keys; the longest match wins.
            if host != registry or not (
                not path or repository == path or repository.startswith(path + "/")
            ):
                continue
            creds = _decode_entry(entry)
            if creds is not None and (best is None or len(path) > best[0]):
                best = (len(path), creds)
        return best[1] if best else None

    def _run_helper(self, name: str, registry: str) -> Credentials | None:
        if not _HELPER_NAME_RE.fullmatch(name):
            logger.warning("ignoring credential helper with invalid name %r", name)
            return None
        program = f"docker-credential-{name}"
        output = self._helper_output(program, registry)
        if output is None:
            return None
        try:
            answer = json.loads(output)
            username, secret = answer["Username"], answer["Secret"]
        except (ValueError, KeyError, TypeError):
            logger.warning("credential helper %s returned malformed output", program)
            return None
        if not isinstance(username, str) or not isinstance(secret, str) or not secret:
            return None
        if username == "<token>":
            return Credentials(identity_token=secret)
        return Credentials(username, secret)

    def _helper_output(self, program: str, registry: str) -> bytes | None:
        server = _HUB_KEY if registry == DOCKER_HUB else registry
        try:
            # Own session: on timeout the whole group dies, so a helper's children cannot
            # keep the pipe open and stall us past the timeout.
            proc = subprocess.Popen(
                [program, "get"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PATH": self._path},
                start_new_session=True,
            )
        except FileNotFoundError:
            logger.warning("credential helper %s not found on PATH", program)
            return None
        except OSError as e:
            logger.warning("credential helper %s failed: %s", program, type(e).__name__)
            return None
        try:
            stdout, _ = proc.communicate(server.encode(), timeout=self._timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            logger.warning("credential helper %s timed out after %.0fs", program, self._timeout)
            return None
        if proc.returncode != 0:
            # The helper's output is not logged: some helpers echo what they were given.
            logger.info("credential helper %s has no credentials for %s", program, registry)
            return None
        return stdout
