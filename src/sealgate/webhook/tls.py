"""The server's TLS context, reloaded in place when the certificate files change.

cert-manager and the self-signed bootstrap rotate the serving certificate by rewriting the
mounted Secret (Kubernetes swaps the files atomically). OpenSSL lets a server context load a
new chain at any time; connections made afterwards present it, open ones keep theirs. A
half-written pair (certificate and key that do not match) fails to load and the old pair
stays in service until the next check.
"""

from __future__ import annotations

import logging
import ssl
import threading
from pathlib import Path

from sealgate.errors import ConfigError

__all__ = ["CertificateReloader"]

logger = logging.getLogger(__name__)


class CertificateReloader:
    """An ``SSLContext`` for ``cert``/``key`` that follows changes to the files.

    Example:
        >>> tls = CertificateReloader(Path("tls.crt"), Path("tls.key"))  # doctest: +SKIP
        >>> tls.start(interval_s=10)  # doctest: +SKIP
    """

    def __init__(self, cert: Path, key: Path) -> None:
        """Load the pair.

        Raises:
            ConfigError: The files are missing or do not hold a matching certificate and key.
        """
        self.cert = cert
        self.key = key
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.set_alpn_protocols(["http/1.1"])
        self._stamp = self._files_stamp()
        try:
            self.context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as err:
            raise ConfigError(f"TLS certificate {cert} / key {key}: {_why(err)}") from None
        self.reloads = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _files_stamp(self) -> tuple[int, int, int, int]:
        try:
            cert, key = self.cert.stat(), self.key.stat()
        except OSError:
            return (0, 0, 0, 0)
        return (cert.st_mtime_ns, cert.st_ino, key.st_mtime_ns, key.st_ino)

    def reload_if_changed(self) -> bool:
        """Load the files again if they changed since the last load.

        Returns:
            True when a new certificate was loaded.
        """
        stamp = self._files_stamp()
        if stamp == self._stamp:
            return False
        try:
            self.context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as err:
            logger.warning("TLS certificate not reloaded (keeping the old one): %s", _why(err))
            return False
        self._stamp = stamp
        self.reloads += 1
        logger.info("TLS certificate reloaded from %s", self.cert)
        return True

    def start(self, *, interval_s: float = 10.0) -> None:
        """Check the files every ``interval_s`` seconds in a daemon thread."""

        def loop() -> None:
            while not self._stop.wait(interval_s):
                self.reload_if_changed()

        self._thread = threading.Thread(target=loop, name="sealgate-tls-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop checking."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _why(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return type(err).__name__
