"""``sealgate webhook manifests``: the Kubernetes objects that install the webhook."""

from __future__ import annotations

from typing import Any

__all__ = ["register"]


def register(commands: Any) -> None:
    del commands
