"""``initialize``: trusted-root refresh over TUF from a real loopback repository, then offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealgate.errors import ConfigError, RegistryUnreachable, VerificationFailed
from sealgate.trust.tuf import cached_trusted_root, initialize
from tests.interop.conftest import interop_dir
from tests.support.tuf_repo import TufRepository, serve_directory

PRODUCTION = (
    interop_dir()
    / "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json"
)
STAGING = (
    interop_dir()
    / "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json"
)


@pytest.fixture
def repo(tmp_path: Path) -> TufRepository:
    repository = TufRepository(tmp_path / "repo", "trusted_root.json", PRODUCTION.read_bytes())
    repository.publish(bump=False)
    return repository


def test_initialize_then_use_offline(repo: TufRepository, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with serve_directory(repo.directory) as mirror:
        fetched = initialize(mirror, cache, root=repo.root_path())
    assert fetched.tlogs[0].base_url == "https://rekor.sigstore.dev"
    # The server is gone: the cached, verified copy still loads.
    offline = cached_trusted_root(mirror, cache)
    assert offline.tlogs == fetched.tlogs
    assert len(offline.certificate_authorities) == 2


def test_refresh_picks_up_a_new_target_with_the_cached_root(
    repo: TufRepository, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    with serve_directory(repo.directory) as mirror:
        initialize(mirror, cache, root=repo.root_path())
        repo.set_target(STAGING.read_bytes())
        repo.publish()
        refreshed = initialize(mirror, cache)  # no --root: the cached root is the anchor
    assert any("sigstage" in key.base_url for key in refreshed.tlogs)
    assert any("sigstage" in key.base_url for key in cached_trusted_root(mirror, cache).tlogs)


def test_expired_metadata_is_refused(repo: TufRepository, tmp_path: Path) -> None:
    repo.expire("timestamp")
    repo.publish()
    with serve_directory(repo.directory) as mirror, pytest.raises(VerificationFailed) as caught:
        initialize(mirror, tmp_path / "cache", root=repo.root_path())
    assert "expired" in str(caught.value)
    with pytest.raises(ConfigError, match="run initialize first"):
        cached_trusted_root(mirror, tmp_path / "cache")


def test_rollback_is_refused(repo: TufRepository, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    repo.publish()  # timestamp version 2
    with serve_directory(repo.directory) as mirror:
        initialize(mirror, cache, root=repo.root_path())
        repo.timestamp.signed.version = 1  # an attacker replays an older timestamp
        repo.publish(bump=False)
        with pytest.raises(VerificationFailed, match="rollback"):
            initialize(mirror, cache)


def test_target_signed_by_the_wrong_key_is_refused(repo: TufRepository, tmp_path: Path) -> None:
    repo.signers["targets"] = TufRepository(tmp_path / "other", "x", b"x").signers["targets"]
    repo.publish()
    with serve_directory(repo.directory) as mirror, pytest.raises(VerificationFailed):
        initialize(mirror, tmp_path / "cache", root=repo.root_path())


def test_a_target_that_is_not_a_trusted_root_is_a_config_error(
    repo: TufRepository, tmp_path: Path
) -> None:
    repo.set_target(b'{"mediaType": "something else"}')
    repo.publish()
    with serve_directory(repo.directory) as mirror, pytest.raises(ConfigError):
        initialize(mirror, tmp_path / "cache", root=repo.root_path())


def test_unreachable_mirror_and_missing_root(tmp_path: Path, repo: TufRepository) -> None:
    with serve_directory(repo.directory) as mirror:
        pass  # the port is closed again
    with pytest.raises(RegistryUnreachable):
        initialize(mirror, tmp_path / "cache", root=repo.root_path(), timeout_seconds=2)
    with pytest.raises(ConfigError, match=r"pass a root\.json"):
        initialize("http://127.0.0.1:9", tmp_path / "empty")
