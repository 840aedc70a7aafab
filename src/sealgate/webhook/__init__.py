"""sealgate.webhook: the Kubernetes admission webhook over the one policy engine.

* :mod:`.admission` and :mod:`.review`: the pure core, ``review(body, *, deps) -> outcome``
  (AdmissionReview v1 in, response with warnings and JSONPatch out), unit-tested without HTTP;
* :mod:`.judge`, :mod:`.verdicts`, :mod:`.registries`: images decided with
  :func:`sealgate.policy.decide` through :mod:`sealgate.workflows.judge`, cached per
  (digest, requirement) in memory and Redis, single-flight, bounded by the review's deadline;
* :mod:`.app`, :mod:`.serve`, :mod:`.tls`, :mod:`.metrics`, :mod:`.logs`: the thin ASGI adapter
  (starlette on uvicorn), certificate hot-reload, Prometheus metrics and JSON logs;
* :mod:`.manifests`: the Kubernetes objects that install it.

Nothing here is imported by ``import sealgate.webhook``: the server's dependencies (the
``webhook`` extra) load only when a server is built.
"""
