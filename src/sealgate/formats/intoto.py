"""in-toto Statements (docs/formats.md §2.3): v0.1 as ``cosign attest`` writes it; v0.1, v1 read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sealgate.errors import MalformedData
from sealgate.formats import _gojson
from sealgate.oci.mediatypes import is_valid_digest

__all__ = [
    "COSIGN_SIGN_PREDICATE_TYPE",
    "STATEMENT_V01",
    "STATEMENT_V1",
    "Statement",
    "Subject",
    "build_sign_statement",
    "build_statement",
    "parse_statement",
]

STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
#: What cosign 3 signs for ``sign --new-bundle-format`` (cosign ``pkg/types/predicate.go``).
COSIGN_SIGN_PREDICATE_TYPE = "https://sigstore.dev/cosign/sign/v1"
_STATEMENT_TYPES = frozenset({STATEMENT_V01, STATEMENT_V1})


@dataclass(frozen=True)
class Subject:
    """A statement subject.

    Attributes:
        name: ``name`` (``registry/repo`` for cosign; may be empty in v1).
        digest: Algorithm -> hex digest.
        annotations: v1 subject ``annotations`` (cosign v3 puts ``-a`` pairs here).
    """

    name: str
    digest: dict[str, str]
    annotations: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Statement:
    """A parsed in-toto statement.

    Attributes:
        type: ``_type`` (v0.1 or v1 URI).
        predicate_type: ``predicateType``.
        subjects: The subjects (at least one).
        predicate: The decoded ``predicate`` (any JSON value; None if absent).
        raw: The parsed JSON object, for policy evaluation.
    """

    type: str
    predicate_type: str
    subjects: tuple[Subject, ...]
    predicate: Any = field(compare=False)
    raw: dict[str, Any] = field(compare=False, repr=False)

    def has_subject_digest(self, digest: str) -> bool:
        """cosign ``IntotoSubjectClaimVerifier``: some subject's ``<alg>:<hex>`` equals ``digest``.

        Args:
            digest: ``sha256:<hex>`` of the image.

        Returns:
            True if any subject digest matches exactly.
        """
        return any(
            f"{alg}:{value}" == digest for s in self.subjects for alg, value in s.digest.items()
        )


def build_statement(
    subject_name: str, digest_hex: str, predicate_type: str, predicate: object
) -> bytes:
    """Build a v0.1 statement exactly like cosign v2 (Go ``json.Marshal`` of in-toto-golang).

    Args:
        subject_name: ``registry/repository`` of the image (no tag or digest).
        digest_hex: Hex sha256 of the image manifest (without ``sha256:``).
        predicate_type: The predicate type URI.
        predicate: The predicate (see :func:`sealgate.formats.predicates.load_predicate`);
            objects are written with sorted keys like a Go map.

    Returns:
        Compact JSON with key order ``_type, predicateType, subject, predicate``.

    Raises:
        ValueError: If ``digest_hex`` is not 64 lowercase hex characters.
    """
    if not is_valid_digest(f"sha256:{digest_hex}"):
        raise ValueError("digest_hex must be 64 lowercase hex characters")
    return _gojson.dumps(
        {
            "_type": STATEMENT_V01,
            "predicateType": predicate_type,
            "subject": [{"name": subject_name, "digest": {"sha256": digest_hex}}],
            "predicate": _gojson.sort_maps(predicate),
        }
    )


def build_sign_statement(digest: str, annotations: dict[str, str] | None = None) -> bytes:
    """The in-toto v1 statement cosign 3 signs for an image signature in a bundle.

    cosign ``signDigestBundle``: one subject with the image digest (no name) and the ``-a``
    pairs as subject annotations, predicate type ``https://sigstore.dev/cosign/sign/v1`` and an
    empty predicate; fields in protobuf order (``protojson`` output has no fixed byte layout,
    so verifiers parse it rather than compare bytes).

    Args:
        digest: ``sha256:<hex>`` of the image manifest.
        annotations: ``-a`` pairs (omitted when empty).

    Returns:
        Compact JSON.

    Raises:
        ValueError: If ``digest`` is not a sha256 digest.
    """
    if not is_valid_digest(digest):
        raise ValueError("digest must be sha256:<64 lowercase hex>")
    algorithm, _, value = digest.partition(":")
    subject: dict[str, Any] = {"digest": {algorithm: value}}
    if annotations:
        subject["annotations"] = dict(sorted(annotations.items()))
    return _gojson.dumps(
        {
            "_type": STATEMENT_V1,
            "subject": [subject],
            "predicateType": COSIGN_SIGN_PREDICATE_TYPE,
            "predicate": {},
        }
    )


def _subject(index: int, raw: object) -> Subject:
    if not isinstance(raw, dict):
        raise MalformedData(f"statement subject {index} is not a JSON object")
    name = raw.get("name", "")
    digest = raw.get("digest")
    annotations = raw.get("annotations")
    annotations = {} if annotations is None else annotations
    if not isinstance(name, str):
        raise MalformedData(f"statement subject {index} name is not a string")
    if not isinstance(digest, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in digest.items()
    ):
        raise MalformedData(f"statement subject {index} digest is not a string map")
    if not isinstance(annotations, dict):
        raise MalformedData(f"statement subject {index} annotations is not an object")
    return Subject(name=name, digest=digest, annotations=annotations)


def parse_statement(raw: bytes) -> Statement:
    """Parse an in-toto statement (v0.1 or v1).

    Args:
        raw: The DSSE payload bytes.

    Returns:
        The statement.

    Raises:
        MalformedData: If it is not JSON, ``_type`` is not a known statement type,
            ``predicateType`` is not a string, or ``subject`` is not a non-empty list of subjects.
    """
    doc = _gojson.loads(raw, "in-toto statement")
    if not isinstance(doc, dict):
        raise MalformedData("in-toto statement is not a JSON object")
    kind = doc.get("_type")
    if not isinstance(kind, str) or kind not in _STATEMENT_TYPES:
        raise MalformedData(f"unknown in-toto statement type {kind!r}")
    predicate_type = doc.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        raise MalformedData("in-toto statement predicateType is not a string")
    subjects = doc.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise MalformedData("in-toto statement has no subjects")
    return Statement(
        type=str(kind),
        predicate_type=predicate_type,
        subjects=tuple(_subject(i, s) for i, s in enumerate(subjects)),
        predicate=doc.get("predicate"),
        raw=doc,
    )
