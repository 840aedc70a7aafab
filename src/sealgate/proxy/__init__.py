"""sealgate.proxy: a registry front that serves protected repositories only when verified.

``sealgate proxy --upstream URL --policy PATH --protect GLOB`` passes registry traffic
through to the upstream and answers a manifest GET/HEAD in a protected repository with HTTP
412 and an OCI error body unless the policy set (the one engine: ClusterImagePolicy, Kyverno,
sealgate ImagePolicy) admits the very digest it serves. Signatures, attestations, blobs, tag
lists and pushes pass through; client credentials travel with the client's requests.

Modules: :mod:`.routes` (strict path parsing), :mod:`.headers` (what crosses, URL rewrites),
:mod:`.artifacts` (what is a signature artifact), :mod:`.judge` (verdicts, cache, single
flight), :mod:`.app` (the ASGI application), :mod:`.server` (assembly, uvicorn).
"""

from sealgate.proxy.app import ProxyApp, ProxySettings
from sealgate.proxy.judge import ProxyJudge, VerdictSettings
from sealgate.proxy.server import ProxyOptions, ProxyServer, build_proxy_app

__all__ = [
    "ProxyApp",
    "ProxyJudge",
    "ProxyOptions",
    "ProxyServer",
    "ProxySettings",
    "VerdictSettings",
    "build_proxy_app",
]
