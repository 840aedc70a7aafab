"""Images signed with ``sealgate sign`` on the real registry, and policies for the webhook tests.

Repositories under ``<registry>/wh/``:

* ``enforced/*``: ClusterImagePolicy ``enforced`` (key ``release``, pins digests on /mutate);
* ``plain/*``: ClusterImagePolicy ``plain`` (same key, no pinning);
* ``warned/*``: sealgate ImagePolicy in ``warn`` mode;
* anything else: no policy matches (deny);
* ``127.0.0.1:<hang>/**``: a "registry" that accepts connections and never answers.
"""

from __future__ import annotations

import socket
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from sealgate.config import ClientConfig
from sealgate.oci import RegistryClient
from tests.integration.conftest import PASSWORD, RunningRegistry
from tests.support.cli import run
from tests.support.images import build_image, push_image

SIGNED = ("enforced/app", "enforced/sidecar", "enforced/tools", "enforced/volume", "plain/app")
UNSIGNED = ("enforced/unsigned", "warned/tool", "other/app")


@dataclass
class Estate:
    """What the webhook tests use."""

    host: str
    home: Path
    policies: Path
    images: dict[str, str] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    hang: str = ""

    def image(self, name: str) -> str:
        return self.images[name]


def _pem(path: Path, spaces: int) -> str:
    return textwrap.indent(path.read_text(), " " * spaces)


def _policies(directory: Path, host: str, hang: str, public_key: Path) -> None:
    directory.mkdir()
    key = _pem(public_key, 14)
    cip = """\
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: {name}
  annotations: {{"sealgate.dev/mutate-digest": "{mutate}"}}
spec:
  images: [{{glob: "{glob}"}}]
  authorities:
    - name: release
      key:
        data: |
{key}
"""
    (directory / "enforced.yaml").write_text(
        cip.format(name="enforced", mutate="true", glob=f"{host}/wh/enforced/**", key=key)
    )
    (directory / "plain.yaml").write_text(
        cip.format(name="plain", mutate="false", glob=f"{host}/wh/plain/**", key=key)
    )
    (directory / "hang.yaml").write_text(
        cip.format(name="hang", mutate="true", glob=f"{hang}/**", key=key)
    )
    (directory / "warned.yaml").write_text(
        f"""\
apiVersion: sealgate.dev/v1alpha1
kind: ImagePolicy
metadata: {{name: audit-tools}}
spec:
  images: [{{glob: "{host}/wh/warned/**"}}]
  mode: warn
  tlog: {{required: false}}
  authorities:
    - name: release
      key:
        data: |
{_pem(public_key, 10)}
"""
    )


def hanging_listener() -> socket.socket:
    """A loopback socket that completes TCP handshakes (backlog) and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    return listener


def build_estate(registry: RunningRegistry, home: Path, hang_port: int) -> Estate:
    """Generate a key, push and sign the images, write the policies."""
    made = run(
        ["generate-key-pair", "--output-key-prefix", str(home / "release")],
        {"COSIGN_PASSWORD": PASSWORD},
    )
    assert made.code == 0, made.err
    hang = f"127.0.0.1:{hang_port}"
    estate = Estate(registry.host, home, home / "policies", hang=hang)
    config = ClientConfig(
        insecure_registries=frozenset({registry.host}),
        docker_config=home / "no-docker.json",
        auth_file=home / "no-auth.json",
    )
    with RegistryClient(config) as client:
        for name in (*SIGNED, *UNSIGNED):
            ref = registry.ref(f"wh/{name}", "v1")
            push_image(client, ref, build_image(layers=1))
            estate.images[name] = str(ref)
            estate.digests[name] = client.resolve(ref).digest
    for name in SIGNED:
        signed = run(
            [
                "sign",
                "--key",
                str(home / "release.key"),
                "--insecure-registry",
                registry.host,
                estate.images[name],
            ],
            {"COSIGN_PASSWORD": PASSWORD},
            home=str(home),
        )
        assert signed.code == 0, signed.err
    _policies(estate.policies, registry.host, hang, home / "release.pub")
    return estate
