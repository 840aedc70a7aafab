"""``env``, ``version``, ``completion`` and ``login``: cosign's housekeeping commands."""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from sealgate import __version__
from sealgate.cli.parsing import bool_flag
from sealgate.errors import ExitCode, InputError, UsageError

__all__ = ["ENVIRONMENT", "register"]

#: Variables sealgate reads: (name, sensitive, description).
ENVIRONMENT: tuple[tuple[str, bool, str], ...] = (
    ("COSIGN_PASSWORD", True, "password of the private key (empty is a valid password)"),
    ("COSIGN_PRIVATE_KEY", True, "PEM private key for sign/attest without --key"),
    ("COSIGN_REPOSITORY", False, "repository holding signatures instead of the image's"),
    ("COSIGN_DOCKER_MEDIA_TYPES", False, "write Docker media types for old registries"),
    ("COSIGN_MAX_ATTACHMENT_SIZE", False, "largest signature/attestation layer read"),
    ("COSIGN_VERIFY_DISABLED", False, "gate: audited emergency bypass"),
    ("DOCKER_CONFIG", False, "directory of the docker config.json with credentials"),
    ("REGISTRY_AUTH_FILE", False, "containers-auth.json consulted first"),
    ("SEALGATE_REGISTRY_USERNAME", False, "registry user (as --registry-username)"),
    ("SEALGATE_REGISTRY_PASSWORD", True, "registry password (as --registry-password)"),
    ("SEALGATE_REGISTRY_TOKEN", True, "registry bearer token (as --registry-token)"),
    ("SEALGATE_KEYLESS", False, "sign keyless when COSIGN_PRIVATE_KEY is empty"),
    ("SIGSTORE_ID_TOKEN", True, "OIDC identity token for keyless signing"),
    ("SIGSTORE_ROOT_FILE", False, "trusted root JSON (as --trusted-root)"),
    ("SIGSTORE_REKOR_PUBLIC_KEY", False, "the only trusted Rekor key (PEM file)"),
    ("SIGSTORE_CT_LOG_PUBLIC_KEY_FILE", False, "an extra trusted CT log key (PEM file)"),
    ("SEALGATE_CACHE_KEY", True, "hex key authenticating the gate's verdict cache"),
    ("SEALGATE_DEBUG", False, "print tracebacks of internal errors"),
)


_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def register(sub: Any) -> None:
    env = sub.add_parser(
        "env",
        help="print the environment variables sealgate reads",
        description="Print each variable sealgate reads with its value; secrets are masked.",
        epilog="example:\n  sealgate env --show-descriptions",
    )
    env.add_argument("--show-descriptions", type=bool_flag, default=True, help="(default true)")
    env.add_argument("--show-sensitive-values", action="store_true", help="print secrets too")
    env.set_defaults(handler=_env)

    version = sub.add_parser(
        "version",
        help="print version information",
        description="Print the version in cosign's layout (GitVersion, ...); --json as JSON.",
        epilog="example:\n  sealgate version --json",
    )
    version.add_argument("--json", action="store_true", help="print JSON")
    version.set_defaults(handler=_version)

    completion = sub.add_parser(
        "completion",
        help="print a shell completion script",
        description="Print a completion script for bash, zsh or fish.",
        epilog="example:\n  source <(sealgate completion bash)",
    )
    completion.add_argument("shell", choices=["bash", "zsh", "fish"])
    completion.set_defaults(handler=_completion)

    login = sub.add_parser(
        "login",
        help="store registry credentials in the docker config",
        description="Write a username and password for REGISTRY into $DOCKER_CONFIG/config.json "
        "(default ~/.docker/config.json, mode 0600), where every command finds them.",
        epilog='example:\n  echo "$TOKEN" | sealgate login registry.example.com -u ci '
        "--password-stdin",
    )
    login.add_argument("-u", "--username", required=True)
    login.add_argument("-p", "--password", help="prefer --password-stdin: flags are visible")
    login.add_argument("--password-stdin", action="store_true", help="read the password")
    login.add_argument("registry", metavar="REGISTRY")
    login.set_defaults(handler=_login)


def _env(args: argparse.Namespace) -> int:
    for name, sensitive, description in ENVIRONMENT:
        value = os.environ.get(name)
        if args.show_descriptions:
            print(f"# {name}: {description}")
        if value is not None and sensitive and not args.show_sensitive_values:
            value = "******"
        print(f'{name}="{value if value is not None else ""}"')
    return ExitCode.OK


def version_info() -> dict[str, str]:
    """cosign's version fields (``sigs.k8s.io/release-utils/version``), filled for sealgate."""
    machine = platform.machine().lower()
    return {
        "gitVersion": f"v{__version__}",
        "gitCommit": "unknown",
        "gitTreeState": "unknown",
        "buildDate": "unknown",
        "goVersion": f"python{platform.python_version()}",
        "compiler": platform.python_implementation().lower(),
        "platform": f"{sys.platform}/{_GOARCH.get(machine, machine)}",
    }


def _version(args: argparse.Namespace) -> int:
    info = version_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return ExitCode.OK
    print("sealgate: sign container images and verify them before they run (cosign-compatible)")
    print()
    for key, value in info.items():
        label = key[0].upper() + key[1:] + ":"
        print(f"{label:<15}{value}")
    return ExitCode.OK


def _completion(args: argparse.Namespace) -> int:
    from sealgate.cli.completion import script

    sys.stdout.write(script(args.shell))
    return ExitCode.OK


def _login(args: argparse.Namespace) -> int:
    from sealgate.files import read_capped

    if args.password_stdin == bool(args.password):
        raise UsageError("give the password with --password-stdin (or -p)")
    password = args.password
    if args.password_stdin:
        raw = read_capped(sys.stdin.buffer, 64 * 1024, error=InputError, name="standard input")
        password = raw.decode("utf-8", "replace").rstrip("\r\n")
    if not password:
        raise UsageError("the password is empty")
    directory = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    path = directory / "config.json"
    config: dict[str, Any] = {}
    if path.exists():
        raw_config = read_capped(path, 4 * 1024 * 1024, error=InputError)
        try:
            loaded = json.loads(raw_config)
        except ValueError as err:
            raise InputError(f"{path} is not JSON; not changing it") from err
        config = loaded if isinstance(loaded, dict) else {}
    auths = config.setdefault("auths", {})
    if not isinstance(auths, dict):
        raise InputError(f"{path}: 'auths' is not an object; not changing it")
    token = base64.b64encode(f"{args.username}:{password}".encode()).decode("ascii")
    auths[args.registry] = {"auth": token}
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    temporary.replace(path)
    print(f"logged in via {path}", file=sys.stderr)
    return ExitCode.OK
