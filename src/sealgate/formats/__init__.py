"""sealgate.formats: cosign's wire formats, pure (bytes in, objects or bytes out).

Modules: :mod:`.simplesigning` (signature payload), :mod:`.cosign_manifest` (``.sig``/``.att``
manifests and dedupe), :mod:`.dsse`, :mod:`.intoto`, :mod:`.predicates` (``--type``),
:mod:`.rekor` (bundle annotation), :mod:`.cosign_types` (constants).
"""

from sealgate.formats.cosign_manifest import (
    LayerDescriptor,
    SignatureLayer,
    append_layer,
    build_attachment_manifest,
    parse_attachment_manifest,
)
from sealgate.formats.dsse import Envelope, build_envelope, pae, parse_envelope
from sealgate.formats.intoto import Statement, build_statement, parse_statement
from sealgate.formats.predicates import PREDICATE_TYPES, load_predicate, resolve_predicate_type
from sealgate.formats.rekor import RekorBundle
from sealgate.formats.simplesigning import SimpleSigningPayload, build_payload, parse_payload

__all__ = [
    "PREDICATE_TYPES",
    "Envelope",
    "LayerDescriptor",
    "RekorBundle",
    "SignatureLayer",
    "SimpleSigningPayload",
    "Statement",
    "append_layer",
    "build_attachment_manifest",
    "build_envelope",
    "build_payload",
    "build_statement",
    "load_predicate",
    "pae",
    "parse_attachment_manifest",
    "parse_envelope",
    "parse_payload",
    "parse_statement",
    "resolve_predicate_type",
]
