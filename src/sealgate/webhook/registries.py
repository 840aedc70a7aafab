"""Registry clients for reviews: the mounted docker config, plus a pod's imagePullSecrets.

Without an API server the webhook cannot read Secrets. Pull secrets are therefore files: a
directory (``--pull-secrets-dir``) laid out as ``DIR/<namespace>/<secret name>/.dockerconfigjson``
(what a projected Secret volume with ``items[].path`` produces). A pod may mount Secrets of its
own namespace only, so the secrets a workload names are mirrored into the webhook's namespace
and projected there; docs/adr/0005-webhook.md shows the volume. A pod naming secrets that are
not there is verified with the mounted docker config alone (the kubelet would fail the pull
anyway if the registry needs them).

Each distinct set of secret files (by path and modification time) gets one client whose
``auth_file`` is the secrets' ``auths`` merged (first secret naming a registry wins, as the
kubelet tries them in order), written 0600 into a private directory. Clients are bounded and
reused; each review gets a view bound to its deadline (:meth:`RegistryClient.with_deadline`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Any

from sealgate.config import ClientConfig
from sealgate.deadline import Deadline
from sealgate.errors import InputError, SealgateError
from sealgate.files import read_capped
from sealgate.oci import RegistryClient

__all__ = ["SECRET_FILE", "RegistryPool", "bounded"]

#: The key of a ``kubernetes.io/dockerconfigjson`` Secret, as mounted.
SECRET_FILE = ".dockerconfigjson"  # noqa: S105 - a file name, not a secret
_MAX_SECRET_BYTES = 1024 * 1024
_RETIRE_AFTER_S = 120.0


def bounded(client: RegistryClient, deadline: Deadline) -> RegistryClient:
    """A view of ``client`` whose every request gives up at ``deadline`` (shares connections)."""
    return client.with_deadline(deadline)


class RegistryPool:
    """Thread-safe registry clients keyed by the pull secrets that apply."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        pull_secrets_dir: Path | None = None,
        max_clients: int = 64,
    ) -> None:
        self.config = config
        self.pull_secrets_dir = pull_secrets_dir
        self.max_clients = max_clients
        self._default = RegistryClient(config)
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, RegistryClient] = OrderedDict()
        self._retired: list[tuple[float, RegistryClient]] = []
        self._scratch: Path | None = None

    def close(self) -> None:
        """Close every client and remove the merged credential files."""
        with self._lock:
            clients = [self._default, *self._clients.values(), *(c for _, c in self._retired)]
            self._clients.clear()
            self._retired.clear()
            scratch, self._scratch = self._scratch, None
        for client in clients:
            client.close()
        if scratch is not None:
            for file in scratch.iterdir():
                file.unlink(missing_ok=True)
            scratch.rmdir()

    def _secret_files(self, namespace: str, names: tuple[str, ...]) -> list[Path]:
        if self.pull_secrets_dir is None or not names or not _safe(namespace):
            return []
        files = []
        for name in names:
            path = self.pull_secrets_dir / namespace / name / SECRET_FILE
            if _safe(name) and path.is_file():
                files.append(path)
        return files

    def client_for(self, namespace: str, pull_secrets: tuple[str, ...]) -> RegistryClient:
        """The client for a pod of ``namespace`` naming ``pull_secrets``.

        Unreadable or malformed secret files are skipped (logged by the caller's failure if
        the registry then refuses), never fatal to the review.
        """
        files = self._secret_files(namespace, pull_secrets)
        if not files:
            return self._default
        try:
            stamp = "\0".join(f"{f}:{f.stat().st_mtime_ns}" for f in files)
        except OSError:
            return self._default
        key = hashlib.sha256(stamp.encode("utf-8")).hexdigest()
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
        auths = _merged_auths(files)
        if not auths:
            return self._default
        client = RegistryClient(replace(self.config, auth_file=self._write(key, auths)))
        with self._lock:
            self._clients[key] = client
            while len(self._clients) > self.max_clients:
                _, old = self._clients.popitem(last=False)
                self._retired.append((time.monotonic(), old))
            self._close_retired()
        return client

    def _close_retired(self) -> None:
        # A retired client may still serve a review that started before; none outlives this.
        now = time.monotonic()
        due = [c for t, c in self._retired if now - t > _RETIRE_AFTER_S]
        self._retired = [(t, c) for t, c in self._retired if now - t <= _RETIRE_AFTER_S]
        for client in due:
            client.close()

    def _write(self, key: str, auths: dict[str, Any]) -> Path:
        with self._lock:
            if self._scratch is None:
                self._scratch = Path(tempfile.mkdtemp(prefix="sealgate-pull-secrets-"))
            scratch = self._scratch
        path = scratch / f"{key}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"auths": auths}, handle)
        return path


def _safe(name: str) -> bool:
    # Namespace and Secret names are DNS labels/subdomains: nothing that walks directories.
    return bool(name) and len(name) <= 253 and name not in (".", "..") and "/" not in name


def _merged_auths(files: list[Path]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for file in files:
        with contextlib.suppress(SealgateError, ValueError, RecursionError):
            data = json.loads(
                read_capped(file, _MAX_SECRET_BYTES, error=InputError, name=f"pull secret {file}")
            )
            auths = data.get("auths") if isinstance(data, dict) else None
            for registry, entry in (auths or {}).items() if isinstance(auths, dict) else ():
                if isinstance(registry, str) and isinstance(entry, dict):
                    merged.setdefault(registry, entry)
    return merged
