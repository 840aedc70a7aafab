"""A real TUF repository built with python-tuf's Metadata API, served over loopback HTTP.

Used by the ``initialize`` tests: every role is signed with a fresh Ed25519 key, consistent
snapshots are on (so targets are served as ``targets/<sha256>.<name>``), and the test can bump,
expire or roll back any role before publishing again.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)

ROLES = ("root", "targets", "snapshot", "timestamp")


class TufRepository:
    """An in-directory TUF repository with one target."""

    def __init__(self, directory: Path, target_name: str, target: bytes) -> None:
        self.directory = directory
        self.target_name = target_name
        expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
        self.signers = {role: CryptoSigner.generate_ed25519() for role in ROLES}
        root = Root(expires=expires)
        for role in ROLES:
            root.add_key(self.signers[role].public_key, role)
        self.root: Metadata[Root] = Metadata(root)
        self.targets: Metadata[Targets] = Metadata(Targets(expires=expires))
        self.snapshot: Metadata[Snapshot] = Metadata(Snapshot(expires=expires))
        self.timestamp: Metadata[Timestamp] = Metadata(Timestamp(expires=expires))
        self.set_target(target)

    def set_target(self, data: bytes) -> None:
        """Replace the target's content (written on the next :meth:`publish`)."""
        self.target = data
        info = TargetFile.from_data(self.target_name, data, ["sha256"])
        self.targets.signed.targets[self.target_name] = info

    def root_path(self) -> Path:
        """The current root metadata file (the client's bootstrap)."""
        return self.directory / f"{self.root.signed.version}.root.json"

    def publish(self, *, bump: bool = True) -> None:
        """Sign every role and write metadata and the target the way a CDN serves them."""
        if bump:
            self.targets.signed.version += 1
            self.snapshot.signed.version += 1
            self.timestamp.signed.version += 1
        self.snapshot.signed.meta["targets.json"] = MetaFile(version=self.targets.signed.version)
        self.timestamp.signed.snapshot_meta = MetaFile(version=self.snapshot.signed.version)
        self.directory.mkdir(parents=True, exist_ok=True)
        targets_dir = self.directory / "targets"
        targets_dir.mkdir(exist_ok=True)
        digest = self.targets.signed.targets[self.target_name].hashes["sha256"]
        (targets_dir / f"{digest}.{self.target_name}").write_bytes(self.target)
        documents: list[tuple[str, Metadata[Any]]] = [
            (f"{self.root.signed.version}.root.json", self.root),
            (f"{self.targets.signed.version}.targets.json", self.targets),
            (f"{self.snapshot.signed.version}.snapshot.json", self.snapshot),
            ("timestamp.json", self.timestamp),
        ]
        for name, metadata in documents:
            role = metadata.signed.type
            metadata.signatures.clear()
            metadata.sign(self.signers[role])
            metadata.to_file(str(self.directory / name))

    def expire(self, role: str) -> None:
        """Make ``role`` expire yesterday."""
        getattr(self, role).signed.expires = datetime.now(UTC).replace(microsecond=0) - timedelta(
            days=1
        )


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on a free 127.0.0.1 port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
