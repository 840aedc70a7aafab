"""Send AdmissionReviews to the demo's webhook, as the API server would, and show the answers.

Usage: webhook.py URL CA_FILE SIGNED_IMAGE UNSIGNED_IMAGE  (exit 1 if an answer is unexpected)
"""

from __future__ import annotations

import base64
import json
import ssl
import sys
import urllib.request
import uuid
from typing import Any


def _review(url: str, context: ssl.SSLContext, path: str, image: str) -> dict[str, Any]:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "demo", "namespace": "team-a"},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }
    body = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "team-a",
            "name": "demo",
            "operation": "CREATE",
            "userInfo": {"username": "demo"},
            "object": pod,
        },
    }
    request = urllib.request.Request(  # noqa: S310 - https to the local demo webhook
        url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, context=context, timeout=30) as answer:  # noqa: S310
        response: dict[str, Any] = json.load(answer)["response"]
    return response


def main() -> int:
    url, ca, signed, unsigned = sys.argv[1:5]
    context = ssl.create_default_context(cafile=ca)
    ok = True
    answer = _review(url, context, "/validate", signed)
    print(f"pod with {signed}: {'ADMITTED' if answer['allowed'] else 'DENIED'}")
    ok &= answer["allowed"] is True
    answer = _review(url, context, "/mutate", signed)
    if "patch" in answer:
        for op in json.loads(base64.b64decode(answer["patch"])):
            print(f"  /mutate pins it: {op['path']} -> {op['value']}")
    ok &= "patch" in answer
    answer = _review(url, context, "/validate", unsigned)
    verdict = "ADMITTED" if answer["allowed"] else "DENIED"
    print(f"pod with {unsigned}: {verdict}: {answer.get('status', {}).get('message', '')}")
    ok &= answer["allowed"] is False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
