"""Build the demo's sample images (real package metadata, so the SBOM has content) and push them.

Usage: images.py REGISTRY_HOST  -> prints "name=ref" lines for the shell demo.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
import tarfile

from sealgate.config import ClientConfig
from sealgate.oci import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, Reference, RegistryClient

DPKG_STATUS = """\
Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u4
Description: GNU C Library

Package: openssl
Status: install ok installed
Architecture: amd64
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit

"""

METADATA = "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: MIT\n"


def _layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for path, data in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push(client: RegistryClient, ref: Reference, service: str, version: str) -> None:
    base, base_id = _layer(
        {
            "etc/os-release": b'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12"\n',
            "var/lib/dpkg/status": DPKG_STATUS.encode(),
        }
    )
    app, app_id = _layer(
        {
            f"app/{service}.py": f"print('{service} {version}')\n".encode(),
            "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA": METADATA.format(
                name="requests", version="2.31.0"
            ).encode(),
            "usr/lib/python3/dist-packages/urllib3-2.0.7.dist-info/METADATA": METADATA.format(
                name="urllib3", version="2.0.7"
            ).encode(),
        }
    )
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["python3", f"/app/{service}.py"]},
            "rootfs": {"type": "layers", "diff_ids": [base_id, app_id]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": _digest(config), "size": len(config)},
            "layers": [
                {"mediaType": OCI_LAYER_GZIP, "digest": _digest(b), "size": len(b)}
                for b in (base, app)
            ],
        }
    ).encode()
    for blob in (config, base, app):
        client.put_blob(ref, blob)
    client.put_manifest(ref, manifest, OCI_MANIFEST)


def main() -> None:
    host = sys.argv[1]
    tamper = len(sys.argv) > 2 and sys.argv[2] == "--tamper"
    with RegistryClient(ClientConfig(insecure_registries=frozenset({host}))) as client:
        services = [("shop/api", "1.4.2"), ("shop/worker", "1.4.2"), ("shop/web", "2.0.0")]
        if tamper:
            services = [("shop/worker", "1.4.2-evil")]
        for repo, version in services:
            tag = version.removesuffix("-evil")
            ref = Reference.parse(f"{host}/{repo}:{tag}")
            push(client, ref, repo.split("/")[-1], version)
            print(f"{repo.split('/')[-1]}={ref}")


if __name__ == "__main__":
    main()
