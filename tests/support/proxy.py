"""Run ``sealgate proxy`` in-process on a free loopback port, and drive skopeo through it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sealgate.config import ClientConfig
from sealgate.documents.sources import read_policy_sources
from sealgate.policy.loaders import load_policy_set
from sealgate.proxy import ProxyApp, ProxyOptions, ProxyServer, VerdictSettings, build_proxy_app
from tests.support.registry_server import free_port


@dataclass
class RunningProxy:
    """A proxy serving on ``host`` in front of an upstream."""

    host: str
    app: ProxyApp
    server: ProxyServer

    @property
    def checks_run(self) -> int:
        """Verifications actually run (cache misses)."""
        return self.app.judge.checks_run


@contextmanager
def running_proxy(
    upstream: str,
    policy: Path,
    protect: tuple[str, ...],
    config: ClientConfig,
    *,
    max_manifest_bytes: int = 4 * 1024 * 1024,
    verdicts: VerdictSettings | None = None,
    tls: tuple[Path, Path] | None = None,
) -> Iterator[RunningProxy]:
    """Serve a proxy for ``upstream`` (``http://host:port``) until the block ends."""
    policies = load_policy_set(read_policy_sources([policy]))
    last: RuntimeError | None = None
    for _ in range(3):  # a free port can be taken between probe and bind
        options = ProxyOptions(
            upstream=upstream,
            protect=protect,
            port=free_port(),
            verdicts=verdicts or VerdictSettings(),
            max_manifest_bytes=max_manifest_bytes,
            tls_cert=tls[0] if tls else None,
            tls_key=tls[1] if tls else None,
        )
        app = build_proxy_app(options, policies, config)
        server = ProxyServer(app, options)
        try:
            server.start()
        except RuntimeError as error:
            last = error
            continue
        try:
            yield RunningProxy(f"127.0.0.1:{options.port}", app, server)
        finally:
            server.stop()
        return
    raise RuntimeError(f"could not start the proxy: {last}")


@dataclass(frozen=True)
class SkopeoResult:
    code: int
    out: str
    err: str


def skopeo(*args: str, home: Path, timeout_s: float = 60.0) -> SkopeoResult:
    """Run skopeo with a private HOME (no developer credentials), never raising."""
    proc = subprocess.run(
        ["skopeo", *args],
        capture_output=True,
        timeout=timeout_s,
        check=False,
        env={
            "HOME": str(home),
            "PATH": "/usr/bin:/bin",
            "REGISTRY_AUTH_FILE": str(home / "auth.json"),
        },
    )
    return SkopeoResult(
        proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    )


def skopeo_pull(proxy: RunningProxy, image: str, dest: Path, *extra: str) -> SkopeoResult:
    """``skopeo copy docker://PROXY/IMAGE oci:DEST`` over plain HTTP."""
    dest.mkdir(parents=True, exist_ok=True)
    return skopeo(
        "copy", "--retry-times", "0", "--src-tls-verify=false", *extra,
        f"docker://{proxy.host}/{image}", f"oci:{dest}:pulled",
        home=dest.parent,
    )  # fmt: skip
