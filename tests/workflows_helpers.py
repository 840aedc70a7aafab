"""Helpers shared by integration tests and benchmarks: write cosign attachments directly."""

from __future__ import annotations

from collections.abc import Sequence

from sealgate.formats.cosign_manifest import SignatureLayer
from sealgate.oci import Reference, RegistryClient
from sealgate.workflows.attachments import write_attachment
from sealgate.workflows.targets import attachment_ref


def write_signatures(
    client: RegistryClient, repo_ref: Reference, digest: str, layers: Sequence[SignatureLayer]
) -> Reference:
    """Write ``layers`` as the ``.sig`` manifest of ``digest`` in ``repo_ref``'s repository."""
    image = Reference(repo_ref.registry, repo_ref.repository, digest=digest)
    tag = attachment_ref(image, "sig")
    write_attachment(client, tag, layers)
    return tag
