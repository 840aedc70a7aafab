"""sealgate.cache: where verdicts are remembered, behind one small store protocol.

A foundation layer: it knows bytes, keys and expiry, not images, policies or gates. Callers
(the gate's verdict cache today; the policy engine and admission webhook next) encode their
own entries and choose each entry's absolute expiry ``not_after`` so that nothing cached
outlives the key or certificate it relied on::

    store = FileStore(Path(".sealgate-cache"), secret=key)      # CI: files + HMAC
    store = MemoryStore(max_entries=10_000, ttl_s=300)          # webhook: bounded, in memory
    store.put("k", payload, not_after=min(now + ttl, cert_not_after))
    store.get("k")                                              # None once expired

:class:`RedisStore` implements the same three methods with :func:`seal_entry` /
:func:`open_entry` for authentication and the entry's expiry as the key's ``PXAT``.
"""

from sealgate.cache.envelope import ENVELOPE_VERSION, MAX_ENTRY_BYTES, open_entry, seal_entry
from sealgate.cache.file_store import FileStore
from sealgate.cache.memory_store import MemoryStore
from sealgate.cache.redis_store import RedisStore
from sealgate.cache.store import Clock, VerdictStore, require_aware, utc_now

__all__ = [
    "ENVELOPE_VERSION",
    "MAX_ENTRY_BYTES",
    "Clock",
    "FileStore",
    "MemoryStore",
    "RedisStore",
    "VerdictStore",
    "open_entry",
    "require_aware",
    "seal_entry",
    "utc_now",
]
