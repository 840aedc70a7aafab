"""An RFC 3161 timestamp authority on loopback (``POST`` ``application/timestamp-query``).

Requests are parsed and responses built with pyasn1 and the RFC 3161/5652/5035 modules of
pyasn1-modules: a ``TimeStampResp`` granting a ``TSTInfo`` (the request's message imprint and
nonce, a serial number, genTime now) inside CMS ``SignedData`` signed by a test TSA certificate
(critical ``timeStamping`` EKU, chained to a test root) with the signed attributes RFC 3161 and
RFC 5035 ask for: content type, message digest and ``signingCertificateV2``. The TSA
certificate is included when the request sets ``certReq``.

Failure modes beyond the common ones: ``reject`` (a granted-status-free ``rejection`` answer),
``wrong_imprint`` (the token covers other bytes), ``untrusted`` (signed by a TSA outside the
trusted root).
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyasn1.codec.der import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ, useful
from pyasn1_modules import rfc3161, rfc5035, rfc5280, rfc5652

from tests.support.pki import Issued, make_ca
from tests.support.sigstore_services.http import HttpError, LoopbackService, Request, Response

__all__ = ["TimestampAuthority"]

_SHA256 = univ.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
_ECDSA_SHA256 = univ.ObjectIdentifier("1.2.840.10045.4.3.2")
_POLICY = univ.ObjectIdentifier("1.3.6.1.4.1.57264.2")
TSA_PATH = "/api/v1/timestamp"


def _tsa_leaf(root: Issued) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    start = root.cert.not_valid_before_utc
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealgate-test-tsa")]))
        .issuer_name(root.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()), False
        )
        .sign(root.key, hashes.SHA256())
    )
    return Issued(cert, key)


def _algorithm(oid: univ.ObjectIdentifier) -> rfc5280.AlgorithmIdentifier:
    identifier = rfc5280.AlgorithmIdentifier()
    identifier["algorithm"] = oid
    return identifier


def _attribute(oid: univ.ObjectIdentifier, value: object) -> rfc5652.Attribute:
    attribute = rfc5652.Attribute()
    attribute["attrType"] = oid
    attribute["attrValues"].append(univ.Any(encoder.encode(value)))
    return attribute


class TimestampAuthority:
    """The TSA keys and its HTTP service."""

    def __init__(self) -> None:
        start = datetime.now(UTC) - timedelta(days=1)
        self.root = make_ca("sealgate-test-tsa-root", not_before=start)
        self.leaf = _tsa_leaf(self.root)
        rogue_root = make_ca("rogue-tsa-root", not_before=start)
        self.rogue_leaf = _tsa_leaf(rogue_root)
        self._serials = itertools.count(1)
        self.service = LoopbackService("tsa", {("POST", TSA_PATH): self._timestamp})

    @property
    def url(self) -> str:
        """The URL to POST timestamp queries to (cosign's ``--timestamp-server-url``)."""
        return self.service.url + TSA_PATH

    def _tst_info(self, request: rfc3161.TimeStampReq) -> bytes:
        info = rfc3161.TSTInfo()
        info["version"] = 1
        info["policy"] = _POLICY
        imprint = request["messageImprint"]
        if self.service.mode == "wrong_imprint":
            other = rfc3161.MessageImprint()
            other["hashAlgorithm"] = imprint["hashAlgorithm"]
            other["hashedMessage"] = hashlib.sha256(b"something else").digest()
            imprint = other
        info["messageImprint"] = imprint
        info["serialNumber"] = next(self._serials)
        info["genTime"] = useful.GeneralizedTime(datetime.now(UTC).strftime("%Y%m%d%H%M%SZ"))
        if request["nonce"].isValue:
            info["nonce"] = request["nonce"]
        return bytes(encoder.encode(info))

    def _signer_info(self, signer: Issued, content: bytes) -> rfc5652.SignerInfo:
        leaf_der = signer.cert.public_bytes(serialization.Encoding.DER)
        leaf, _ = decoder.decode(leaf_der, asn1Spec=rfc5280.Certificate())
        ess = rfc5035.SigningCertificateV2()
        cert_id = rfc5035.ESSCertIDv2()
        cert_id["certHash"] = hashlib.sha256(leaf_der).digest()
        ess["certs"].append(cert_id)
        info = rfc5652.SignerInfo()
        attributes = info["signedAttrs"]
        attributes.append(_attribute(rfc5652.id_contentType, rfc3161.id_ct_TSTInfo))
        attributes.append(
            _attribute(rfc5652.id_messageDigest, univ.OctetString(hashlib.sha256(content).digest()))
        )
        attributes.append(_attribute(rfc5035.id_aa_signingCertificateV2, ess))
        # The signature covers the attributes as a DER SET OF, not with the [0] implicit tag.
        as_set = rfc5652.SignedAttributes()
        for attribute in attributes:
            as_set.append(attribute)
        signature = signer.key.sign(bytes(encoder.encode(as_set)), ec.ECDSA(hashes.SHA256()))
        info["version"] = 1
        sid = info["sid"]["issuerAndSerialNumber"]
        sid["issuer"] = leaf["tbsCertificate"]["issuer"]
        sid["serialNumber"] = leaf["tbsCertificate"]["serialNumber"]
        info["digestAlgorithm"] = _algorithm(_SHA256)
        info["signatureAlgorithm"] = _algorithm(_ECDSA_SHA256)
        info["signature"] = signature
        return info

    def response(self, request_der: bytes) -> bytes:
        """A DER ``TimeStampResp`` for a DER ``TimeStampReq``."""
        try:
            request, _ = decoder.decode(request_der, asn1Spec=rfc3161.TimeStampReq())
        except PyAsn1Error as exc:
            raise HttpError(400, "not a TimeStampReq") from exc
        answer = rfc3161.TimeStampResp()
        if self.service.mode == "reject":
            answer["status"]["status"] = 2  # rejection
            answer["status"]["failInfo"] = rfc3161.PKIFailureInfo("'1'B")  # badAlg
            return bytes(encoder.encode(answer))
        signer = self.rogue_leaf if self.service.mode == "untrusted" else self.leaf
        content = self._tst_info(request)
        signed = rfc5652.SignedData()
        signed["version"] = 3
        signed["digestAlgorithms"].append(_algorithm(_SHA256))
        signed["encapContentInfo"]["eContentType"] = rfc3161.id_ct_TSTInfo
        signed["encapContentInfo"]["eContent"] = content
        if request["certReq"]:
            certificate, _ = decoder.decode(
                signer.cert.public_bytes(serialization.Encoding.DER), asn1Spec=rfc5280.Certificate()
            )
            choice = rfc5652.CertificateChoices()
            choice["certificate"] = certificate
            signed["certificates"].append(choice)
        signed["signerInfos"].append(self._signer_info(signer, content))
        token = answer["timeStampToken"]
        token["contentType"] = rfc5652.id_signedData
        token["content"] = univ.Any(encoder.encode(signed))
        answer["status"]["status"] = 0  # granted
        return bytes(encoder.encode(answer))

    def _timestamp(self, request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0] != "application/timestamp-query":
            raise HttpError(415, "Content-Type must be application/timestamp-query")
        return Response(200, self.response(request.body), "application/timestamp-reply")
