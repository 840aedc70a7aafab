"""Trust material for keyless verification: trusted roots, log keys, CA sets, TUF refresh.

A foundation package (beside :mod:`sealgate.oci` and :mod:`sealgate.keys`): it parses and loads
trust material; the checks that use it live in :mod:`sealgate.sigstore_checks`.
"""

from sealgate.trust.load import (
    bundled_trusted_root,
    load_ca_set,
    load_log_key,
    load_trusted_root,
    parse_ca_set,
)
from sealgate.trust.logkeys import LogKey
from sealgate.trust.model import CertificateAuthority, TimestampAuthority, TrustedRoot
from sealgate.trust.timerange import TimeRange
from sealgate.trust.trusted_root import TRUSTED_ROOT_MEDIA_TYPE, parse_trusted_root

__all__ = [
    "TRUSTED_ROOT_MEDIA_TYPE",
    "CertificateAuthority",
    "LogKey",
    "TimeRange",
    "TimestampAuthority",
    "TrustedRoot",
    "bundled_trusted_root",
    "load_ca_set",
    "load_log_key",
    "load_trusted_root",
    "parse_ca_set",
    "parse_trusted_root",
]
