"""Refresh the trusted root over TUF (``cosign initialize``), then use the cached copy offline.

python-tuf's ngclient does the TUF client workflow (root rotation, expiry, rollback and freeze
checks, signature thresholds, length and hash limits); this module only chooses where things
live and turns its exceptions into sealgate's. Layout, like sigstore-python's and cosign's: the
mirror serves ``<version>.root.json``, ``timestamp.json``, ... and the ``trusted_root.json``
target under ``<mirror>/targets/``; the cache is ``<cache>/<quoted mirror>/{metadata,targets}``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from tuf.api import exceptions as tuf_errors
from tuf.api.serialization import DeserializationError
from tuf.ngclient.updater import Updater
from tuf.ngclient.urllib3_fetcher import Urllib3Fetcher

from sealgate.errors import ConfigError, RegistryUnreachable, VerificationFailed
from sealgate.files import read_capped
from sealgate.trust.load import MAX_TRUST_FILE_BYTES
from sealgate.trust.model import TrustedRoot
from sealgate.trust.trusted_root import parse_trusted_root

__all__ = ["TRUSTED_ROOT_TARGET", "cached_trusted_root", "initialize"]

TRUSTED_ROOT_TARGET = "trusted_root.json"
_MAX_ROOT_BYTES = 512 * 1024


def _dirs(mirror: str, cache_dir: Path) -> tuple[Path, Path]:
    base = cache_dir / quote(mirror.rstrip("/"), safe="")
    return base / "metadata", base / "targets"


def initialize(
    mirror: str,
    cache_dir: Path,
    *,
    root: Path | None = None,
    timeout_seconds: float = 30.0,
) -> TrustedRoot:
    """Fetch and verify the newest trusted root from a TUF mirror into ``cache_dir``.

    Args:
        mirror: The TUF repository URL (``--mirror``).
        cache_dir: Where metadata and targets are cached.
        root: A trusted ``root.json`` to bootstrap from (``--root``); without it the cached
            root from an earlier initialize is the anchor.
        timeout_seconds: Socket timeout for each request.

    Returns:
        The verified trusted root, also cached for :func:`cached_trusted_root`.

    Raises:
        ConfigError: If there is no root to start from, or the target is not a trusted root.
        VerificationFailed: If TUF refuses the repository (expired or rolled-back metadata,
            bad signatures, wrong hashes or lengths).
        RegistryUnreachable: If the mirror cannot be reached or a download fails.
    """
    metadata_dir, targets_dir = _dirs(mirror, cache_dir)
    bootstrap = None
    if root is not None:
        bootstrap = read_capped(root, _MAX_ROOT_BYTES, error=ConfigError, name=f"TUF root {root}")
    elif not (metadata_dir / "root.json").is_file():
        raise ConfigError(f"no cached TUF root for {mirror}: pass a root.json to initialize")
    try:
        metadata_dir.mkdir(parents=True, exist_ok=True)
        targets_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the TUF cache in {cache_dir}: {exc.strerror}") from exc
    try:
        updater = Updater(
            metadata_dir=str(metadata_dir),
            metadata_base_url=mirror,
            target_dir=str(targets_dir),
            target_base_url=mirror.rstrip("/") + "/targets/",
            fetcher=Urllib3Fetcher(socket_timeout=int(max(1, timeout_seconds))),
            bootstrap=bootstrap,
        )
        updater.refresh()
        info = updater.get_targetinfo(TRUSTED_ROOT_TARGET)
        if info is None:
            raise ConfigError(f"TUF repository {mirror} has no {TRUSTED_ROOT_TARGET} target")
        # Target file name = the target path, so offline readers find it there.
        path = updater.find_cached_target(info) or updater.download_target(info)
    except tuf_errors.DownloadError as exc:
        raise RegistryUnreachable(f"TUF mirror {mirror}: download failed ({exc})") from exc
    except tuf_errors.ExpiredMetadataError as exc:
        raise VerificationFailed(f"TUF mirror {mirror}: metadata has expired ({exc})") from exc
    except tuf_errors.BadVersionNumberError as exc:
        raise VerificationFailed(f"TUF mirror {mirror}: rollback refused ({exc})") from exc
    except (tuf_errors.RepositoryError, DeserializationError) as exc:
        raise VerificationFailed(f"TUF mirror {mirror}: metadata refused ({exc})") from exc
    except (ValueError, OSError) as exc:
        raise ConfigError(f"TUF mirror {mirror}: {exc}") from exc
    return _read_root(Path(path), mirror)


def _read_root(path: Path, mirror: str) -> TrustedRoot:
    raw = read_capped(path, MAX_TRUST_FILE_BYTES, error=ConfigError, name="cached trusted root")
    return parse_trusted_root(raw, source=f"TUF {mirror}")


def cached_trusted_root(mirror: str, cache_dir: Path) -> TrustedRoot:
    """The trusted root an earlier :func:`initialize` verified, read offline.

    Args:
        mirror: The TUF repository URL it was fetched from.
        cache_dir: The cache directory given to :func:`initialize`.

    Returns:
        The trusted root.

    Raises:
        ConfigError: If nothing is cached for ``mirror`` or the cached file is malformed.
    """
    _, targets_dir = _dirs(mirror, cache_dir)
    path = targets_dir / TRUSTED_ROOT_TARGET
    if not path.is_file():
        raise ConfigError(f"no trusted root cached for {mirror}: run initialize first")
    return _read_root(path, mirror)
