"""What signs and where its evidence comes from: key or keyless, Fulcio, Rekor, TSA, tokens.

Shared by ``sign``, ``attest``, ``sign-blob`` and ``attest-blob``; the only place that reads
the signing environment. Who signs, first match wins:

1. ``--key REF``: that key;
2. ``--identity-token``: keyless;
3. ``COSIGN_PRIVATE_KEY`` non-empty: that key (cosign's interface, unchanged);
4. ``SEALGATE_KEYLESS=true``, ``SIGSTORE_ID_TOKEN``, ``--fulcio-url`` or ``--oidc-issuer``:
   keyless, with the token from ``SIGSTORE_ID_TOKEN``, GitHub Actions, Azure DevOps or
   Buildkite (in that order);
5. otherwise: a warning and exit 0 (a build without signing secrets stays green).

``SEALGATE_KEYLESS=true`` is the one variable that moves a pipeline whose step runs
``sealgate sign IMAGE`` from ``COSIGN_PRIVATE_KEY`` to keyless without editing the step (empty
the key variable, set this one, grant the job an OIDC token).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sealgate.cli.common import command_deadline, truthy
from sealgate.cli.cosign_compat import add_refused
from sealgate.cli.parsing import bool_flag
from sealgate.deadline import Deadline
from sealgate.errors import InputError, ServiceRefused, UsageError
from sealgate.files import read_capped

if TYPE_CHECKING:
    from sealgate.keys import Signer
    from sealgate.sigstore_services import (
        IdentityToken,
        Selection,
        ServiceEndpoint,
        ServiceTransport,
        SigningConfig,
    )
    from sealgate.workflows.signing import Credential, SigningServices

__all__ = [
    "SigningSetup",
    "add_signing_flags",
    "bool_flag",
    "load_signing_key",
    "signing_setup",
]

PUBLIC_FULCIO = "https://fulcio.sigstore.dev"
PUBLIC_REKOR = "https://rekor.sigstore.dev"
_KEY_VAR = "COSIGN_PRIVATE_KEY"
_MAX_TOKEN_FILE = 64 * 1024
_MAX_CONFIG = 1024 * 1024
#: Timeout of one request to Fulcio, Rekor, a TSA or a token endpoint.
_SERVICE_TIMEOUT_S = 30.0


def add_signing_flags(parser: argparse.ArgumentParser) -> None:
    """The key, keyless and evidence flags, named as cosign names them."""
    parser.add_argument(
        "--key",
        help="private key: a path, env://VAR or pkcs11:token=...;object=... (RFC 7512); "
        "default: the PEM in $COSIGN_PRIVATE_KEY, "
        "else keyless when an identity token is at hand",
    )
    parser.add_argument("-y", "--yes", action="store_true", help="skip confirmation prompts")
    group = parser.add_argument_group("keyless signing and transparency")
    group.add_argument(
        "--identity-token", metavar="TOKEN|FILE", help="OIDC token (or a file holding it)"
    )
    group.add_argument("--oidc-issuer", metavar="URL", help="refuse a token from another issuer")
    group.add_argument(
        "--oidc-client-id", default="sigstore", metavar="ID", help="token audience to ask for"
    )
    group.add_argument("--fulcio-url", metavar="URL", help=f"Fulcio (default {PUBLIC_FULCIO})")
    group.add_argument("--rekor-url", metavar="URL", help=f"Rekor (default {PUBLIC_REKOR})")
    group.add_argument("--timestamp-server-url", metavar="URL", help="RFC 3161 TSA endpoint")
    group.add_argument(
        "--tlog-upload",
        type=bool_flag,
        default=None,
        metavar="BOOL",
        help="log the signature in Rekor (default: true keyless, false with a key)",
    )
    group.add_argument(
        "--signing-config", type=Path, metavar="FILE", help="Sigstore SigningConfig JSON"
    )
    group.add_argument(
        "--trusted-root",
        type=Path,
        metavar="FILE",
        help="verify the certificate, log entries and timestamps against this root first",
    )
    group.add_argument(
        "--new-bundle-format",
        type=bool_flag,
        default=False,
        metavar="BOOL",
        help="store a Sigstore bundle (v0.3) instead of cosign's legacy layout (default false)",
    )
    add_refused(
        parser,
        "--sk",
        "--slot",
        "--fulcio-auth-flow",
        "--oidc-client-secret-file",
        "--oidc-redirect-url",
        "--oidc-provider",
        "--oidc-disable-ambient-providers",
        "--insecure-skip-verify",
        "--issue-certificate",
        "--timestamp-client-cacert",
        "--timestamp-client-cert",
        "--timestamp-client-key",
        "--timestamp-server-name",
        "--use-signing-config",
    )


@dataclass
class SigningSetup:
    """A credential and the services for its evidence; close it when done."""

    credential: Credential
    services: SigningServices
    keyless: bool
    stack: ExitStack

    def close(self) -> None:
        self.stack.close()


def _keyless_wanted(args: argparse.Namespace, env: Mapping[str, str]) -> bool | None:
    """True keyless, False key, None nothing to sign with (the soft skip).

    Only an empty ``COSIGN_PRIVATE_KEY`` (no ``--key``, or ``--key env://COSIGN_PRIVATE_KEY``)
    soft-skips: ``--key ""`` is a mistake in the command line, not a missing secret.

    Raises:
        UsageError: ``--key`` was given empty.
    """
    if args.key is not None:
        if not args.key.strip():
            raise UsageError(
                '--key "" names no key: give a path or env://VAR (an empty COSIGN_PRIVATE_KEY '
                "with no --key is the documented way to skip signing)"
            )
        if args.key == f"env://{_KEY_VAR}" and not env.get(_KEY_VAR, "").strip():
            return None  # the template's explicit spelling of the default: same soft skip
        return False
    if args.identity_token:
        return True
    if env.get(_KEY_VAR, "").strip():
        return False
    hinted = args.fulcio_url or args.oidc_issuer
    if truthy(env.get("SEALGATE_KEYLESS")) or env.get("SIGSTORE_ID_TOKEN", "").strip() or hinted:
        return True
    return None


def load_signing_key(ref: str, env: Mapping[str, str] | None = None) -> Signer:
    """The private key at ``ref``, its password from COSIGN_PASSWORD, a prompt or stdin.

    Raises:
        KeyMaterialError: unreadable key, wrong password, or no password to be had (no
            COSIGN_PASSWORD, no terminal, nothing on standard input): said as such, never
            as a wrong password.
    """
    from sealgate.errors import KeyMaterialError
    from sealgate.keys import load_signer, password_from_env_or_prompt

    env = os.environ if env is None else env
    given: list[bytes] = []

    def password() -> bytes:
        given.append(password_from_env_or_prompt(confirm=False))
        return given[-1]

    try:
        return load_signer(ref, password)
    except KeyMaterialError as err:
        if given == [b""] and "COSIGN_PASSWORD" not in env and not sys.stdin.isatty():
            raise KeyMaterialError(
                "the private key is encrypted and no password was given: COSIGN_PASSWORD is "
                "not set and there is no terminal to ask on (standard input was empty); set "
                "COSIGN_PASSWORD (empty for a key made with an empty password)"
            ) from err
        raise


def _read_token_arg(value: str) -> str:
    """cosign's ``--identity-token``: the token, or a file holding it."""
    path = Path(value)
    try:
        is_file = path.is_file()
    except OSError:  # a token is longer than any file name
        is_file = False
    if not is_file:
        return value
    raw = read_capped(path, _MAX_TOKEN_FILE, error=InputError, name="identity token file")
    return raw.decode("ascii", "replace").strip()


def _token(
    args: argparse.Namespace, env: Mapping[str, str], http: ServiceTransport, deadline: Deadline
) -> IdentityToken:
    from sealgate.sigstore_services import (
        IdentityToken,
        azure_devops_token,
        buildkite_token,
        github_actions_token,
    )

    audience = args.oidc_client_id
    if args.identity_token:
        token = IdentityToken.parse(_read_token_arg(args.identity_token))
    elif env.get("SIGSTORE_ID_TOKEN", "").strip():
        token = IdentityToken.parse(env["SIGSTORE_ID_TOKEN"])
    elif env.get("ACTIONS_ID_TOKEN_REQUEST_URL") and env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        token = github_actions_token(
            http,
            env["ACTIONS_ID_TOKEN_REQUEST_URL"],
            env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
            audience=audience,
            deadline=deadline,
        )
    elif env.get("SYSTEM_OIDCREQUESTURI") and env.get("SYSTEM_ACCESSTOKEN"):
        token = azure_devops_token(
            http,
            env["SYSTEM_OIDCREQUESTURI"],
            env["SYSTEM_ACCESSTOKEN"],
            service_connection_id=env.get("SEALGATE_AZURE_SERVICE_CONNECTION_ID") or None,
            deadline=deadline,
        )
    elif truthy(env.get("BUILDKITE")):
        token = buildkite_token(audience=audience, deadline=deadline)
    else:
        raise UsageError(
            "keyless signing needs an OIDC identity token: --identity-token, SIGSTORE_ID_TOKEN "
            "(GitLab id_tokens), GitHub Actions (permissions: id-token: write), Azure DevOps "
            "(map SYSTEM_ACCESSTOKEN into the step) or Buildkite; there is no browser login"
        )
    if args.oidc_issuer and token.issuer != args.oidc_issuer:
        raise UsageError(f"the identity token is from {token.issuer}, not --oidc-issuer")
    return token


def _config(args: argparse.Namespace) -> SigningConfig:
    from sealgate.sigstore_services import SigningConfig, parse_signing_config

    if args.signing_config is None:
        return SigningConfig()
    raw = read_capped(args.signing_config, _MAX_CONFIG, error=UsageError, name="signing config")
    return parse_signing_config(raw, source=str(args.signing_config))


def _urls(
    flag: str | None,
    listed: tuple[ServiceEndpoint, ...],
    selection: Selection,
    default: str | None,
    kind: str,
) -> list[str]:
    from sealgate.sigstore_services import select_services

    if flag:
        return [flag]
    chosen = select_services(listed, selection, supported=(1,), now=datetime.now(UTC), kind=kind)
    if chosen:
        return [s.url for s in chosen]
    return [default] if default else []


def _confirm(args: argparse.Namespace, token: IdentityToken, rekor: list[str]) -> None:
    from sealgate.sigstore_services import public_url

    if not rekor:
        return
    where = ", ".join(public_url(url) for url in rekor)
    print(
        f"Note: the signing certificate, with the identity {token.describe()}, is recorded in "
        f"the transparency log {where}; log entries cannot be removed.",
        file=sys.stderr,
    )
    if args.yes or not sys.stdin.isatty():
        return
    answer = input("Are you sure you would like to continue? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise UsageError("signing cancelled")


def _fulcio_refused(exc: ServiceRefused, token: IdentityToken) -> ServiceRefused:
    expiry = token.expiry
    if expiry is not None and expiry <= datetime.now(UTC):
        return ServiceRefused(
            f"{exc.message} (the identity token expired at {expiry:%Y-%m-%dT%H:%M:%SZ})",
            status=exc.status,
        )
    return exc


def signing_setup(
    args: argparse.Namespace, *, command: str, env: Mapping[str, str] | None = None
) -> SigningSetup | None:
    """The credential and services for ``command``, or None for the documented soft skip.

    Raises:
        UsageError: contradictory flags, or keyless without a token source.
        ConfigError: the signing config or trusted root is unusable.
        KeyMaterialError: the key is missing, unreadable, or the password is wrong.
        ServiceRefused: Fulcio refused the token.
        CheckFailed: a service could not be reached in time (subclasses).
    """
    from sealgate.sigstore_services import (
        FulcioClient,
        RekorClient,
        Selection,
        ServiceTransport,
        TimestampClient,
    )
    from sealgate.trust import load_trusted_root
    from sealgate.workflows.signing import Credential, SigningServices, keyless_credential

    env = os.environ if env is None else env
    keyless = _keyless_wanted(args, env)
    if keyless is None:
        print(
            f"WARNING: {_KEY_VAR} is empty and no identity token is configured "
            f"(SEALGATE_KEYLESS, SIGSTORE_ID_TOKEN): skipping `sealgate {command}` "
            "(nothing was signed)",
            file=sys.stderr,
        )
        return None
    tlog = args.tlog_upload if args.tlog_upload is not None else keyless
    config = _config(args)
    tsa_urls = _urls(args.timestamp_server_url, config.tsa, config.tsa_selection, None, "TSA")
    if keyless and not tlog and not tsa_urls:
        raise UsageError(
            "keyless signing with --tlog-upload=false needs --timestamp-server-url: the "
            "certificate is valid for minutes, a verifier needs a trusted signing time"
        )
    rekor_urls = (
        _urls(args.rekor_url, config.rekor, config.rekor_selection, PUBLIC_REKOR, "Rekor")
        if tlog
        else []
    )
    trusted_root = load_trusted_root(args.trusted_root) if args.trusted_root else None
    stack = ExitStack()
    try:
        http = stack.enter_context(ServiceTransport(timeout_s=_SERVICE_TIMEOUT_S))
        deadline = command_deadline(args)  # the whole command's --timeout
        if keyless:
            fulcio_urls = _urls(
                args.fulcio_url, config.fulcio, Selection(), PUBLIC_FULCIO, "Fulcio"
            )
            token = _token(args, env, http, deadline)
            _confirm(args, token, rekor_urls)
            try:
                credential = keyless_credential(
                    FulcioClient(http, fulcio_urls[0]),
                    token,
                    deadline=deadline,
                    trusted_root=trusted_root,
                )
            except ServiceRefused as exc:
                raise _fulcio_refused(exc, token) from None
            print(f"Signing as {token.describe()}", file=sys.stderr)
        else:
            signer = load_signing_key(args.key or f"env://{_KEY_VAR}", env)
            close = getattr(signer, "close", None)
            if callable(close):  # a token key holds a logged-in session
                stack.callback(close)
            credential = Credential(signer)
        services = SigningServices(
            rekor=tuple(RekorClient(http, url) for url in rekor_urls),
            timestamps=tuple(TimestampClient(http, url) for url in tsa_urls),
            trusted_root=trusted_root,
            deadline=deadline,
        )
    except BaseException:
        stack.close()
        raise
    return SigningSetup(credential, services, keyless, stack)
