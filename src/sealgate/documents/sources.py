"""Reading policy documents from files and directories, capped, for every entry point.

``sealgate policy test --policy``, ``sealgate gate --policy`` (and a config's ``policies``),
and the admission webhook all name policies the same way: files as given, and directories
walked for ``*.yaml``, ``*.yml`` and ``*.json`` in path order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sealgate.config import MiB
from sealgate.errors import ConfigError
from sealgate.files import read_capped

__all__ = ["MAX_POLICY_FILES", "POLICY_SUFFIXES", "read_policy_sources"]

POLICY_SUFFIXES = (".yaml", ".yml", ".json")
#: More files than this under one set of paths is a mistake (a whole checkout), not a policy.
MAX_POLICY_FILES = 1000
_MAX_POLICY_FILE = 16 * MiB


def _files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix in POLICY_SUFFIXES
            )
            if not found:
                raise ConfigError(f"{path}: no .yaml, .yml or .json files")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise ConfigError(f"{path}: no such file or directory")
        if len(files) > MAX_POLICY_FILES:
            raise ConfigError(f"more than {MAX_POLICY_FILES} policy files")
    return files


def read_policy_sources(paths: Sequence[Path]) -> list[tuple[str, bytes]]:
    """Read every policy file named by ``paths`` (files, or directories walked recursively).

    Args:
        paths: Files and directories.

    Returns:
        (file name for messages, content) pairs, in order.

    Raises:
        ConfigError: A path is missing, a directory holds no policy file, a file is not a
            regular file or is larger than 16 MiB, or there are more than 1000 files.
    """
    return [
        (str(file), read_capped(file, _MAX_POLICY_FILE, error=ConfigError, name=f"policy {file}"))
        for file in _files(paths)
    ]
