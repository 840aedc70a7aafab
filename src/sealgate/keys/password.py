"""Where a private key's password comes from, exactly in cosign's order.

cosign ``cmd/cosign/cli/generate/generate_key_pair.go`` ``readPasswordFn``:

1. ``COSIGN_PASSWORD`` if it is *set*, even to the empty string (no prompt then);
2. otherwise, if stdin is a terminal, prompt (twice when creating a key);
3. otherwise read all of stdin; a trailing newline stays part of the password.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Final

from sealgate.errors import UsageError
from sealgate.files import read_capped

__all__ = ["PASSWORD_ENV", "password_from_env_or_prompt"]

PASSWORD_ENV: Final = "COSIGN_PASSWORD"  # noqa: S105 - a variable name, not a secret
_PROMPT: Final = "Enter password for private key: "
_PROMPT_AGAIN: Final = "Enter password for private key again: "
# A password is never this long; the cap stops `cmd < /dev/zero` exhausting memory.
_MAX_STDIN: Final = 1024 * 1024


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed or detached stdin
        return False


def _read_stdin() -> bytes:
    stream = sys.stdin
    if stream is None:  # no standard input at all: an empty password, as before
        return b""
    raw = getattr(stream, "buffer", None)
    if raw is None:  # an embedding replaced stdin with a text-only stream
        raise UsageError("standard input has no binary buffer: set COSIGN_PASSWORD instead")
    return read_capped(raw, _MAX_STDIN, error=UsageError, name="password on stdin")


def password_from_env_or_prompt(*, confirm: bool) -> bytes:
    """Return the private-key password from the environment, a prompt, or stdin.

    Args:
        confirm: Ask twice and require a match (used when creating a key).

    Returns:
        The password bytes (possibly empty).

    Raises:
        UsageError: The two prompted passwords differ, stdin is larger than 1 MiB, or
            stdin is a text-only stream.
    """
    value = os.environ.get(PASSWORD_ENV)
    if value is not None:
        return os.fsencode(value)
    if _stdin_is_tty():
        first = getpass.getpass(_PROMPT)
        if confirm:
            second = getpass.getpass(_PROMPT_AGAIN)
            if first != second:
                raise UsageError("passwords do not match")
        return first.encode("utf-8")
    return _read_stdin()
