"""Run the sealgate CLI in-process, capturing exit code, stdout and stderr."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from sealgate.cli.main import main

# Variables a developer's shell may carry that would change what the CLI does.
_SCRUBBED = (
    "COSIGN_PASSWORD",
    "COSIGN_PRIVATE_KEY",
    "COSIGN_REPOSITORY",
    "COSIGN_DOCKER_MEDIA_TYPES",
    "COSIGN_VERIFY_DISABLED",
    "SIGSTORE_REKOR_PUBLIC_KEY",
    "SIGSTORE_ROOT_FILE",
    "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE",
    "SIGSTORE_ID_TOKEN",
    "REGISTRY_AUTH_FILE",
    "SEALGATE_REGISTRY_USERNAME",
    "SEALGATE_REGISTRY_PASSWORD",
    "GITHUB_STEP_SUMMARY",
    # Keyless signing: a CI runner's own OIDC setup must not turn tests keyless.
    "SEALGATE_KEYLESS",
    "SIGSTORE_ID_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "SYSTEM_OIDCREQUESTURI",
    "SYSTEM_ACCESSTOKEN",
    "SEALGATE_AZURE_SERVICE_CONNECTION_ID",
    "BUILDKITE",
)


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


class _Stdout(io.StringIO):
    """A text stream with a ``buffer`` like sys.stdout, for commands that write bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes = io.BytesIO()

    @property
    def buffer(self) -> io.BytesIO:
        return self._bytes

    def text(self) -> str:
        return self.getvalue() + self.buffer.getvalue().decode("utf-8", "replace")


def run(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    stdin: bytes = b"",
    home: str | None = None,
) -> Result:
    """``sealgate ARGS`` with a clean environment plus ``env``; never raises."""
    environ = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    if home is not None:
        environ["HOME"] = home
        environ["DOCKER_CONFIG"] = str(Path(home) / ".docker")
    environ.update(env or {})
    out, err = _Stdout(), io.StringIO()
    fake_stdin = io.TextIOWrapper(io.BytesIO(stdin))
    with (
        mock.patch.dict(os.environ, environ, clear=True),
        mock.patch.object(sys, "stdin", fake_stdin),
        redirect_stdout(out),
        redirect_stderr(err),
    ):
        code = main(list(args))
    return Result(code, out.text(), err.getvalue())
