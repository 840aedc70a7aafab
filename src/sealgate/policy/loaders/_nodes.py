"""Strict, located reading of decoded YAML: every field known, every error names where it is.

A loader walks a document through :class:`Node` values. ``fields`` refuses any key it was not
told about (an unknown or unsupported field is a :class:`~sealgate.errors.ConfigError`, never
ignored), and every error message reads
``FILE: document N (line L): spec.authorities[0].key.kms: what is wrong``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import NoReturn

from sealgate.documents.yaml import PathKey, YamlDocument, format_path
from sealgate.errors import ConfigError

__all__ = ["Node"]


@dataclass(frozen=True)
class Node:
    """A value of a document with where it is.

    Attributes:
        doc: The document it belongs to.
        path: Its path from the document root.
        value: The decoded value.
    """

    doc: YamlDocument
    path: tuple[PathKey, ...]
    value: object

    @classmethod
    def root(cls, doc: YamlDocument) -> Node:
        """The document's root value."""
        return cls(doc, (), doc.data)

    @property
    def where(self) -> str:
        """``FILE: document N (line L): PATH`` for messages."""
        return (
            f"{self.doc.source}: document {self.doc.index + 1} "
            f"(line {self.doc.line_of(self.path)}): {format_path(self.path)}"
        )

    def fail(self, message: str) -> NoReturn:
        """Raise a ConfigError located at this node.

        Raises:
            ConfigError: Always.
        """
        raise ConfigError(f"{self.where}: {message}")

    def child(self, key: PathKey, value: object) -> Node:
        """The node of ``value`` found under ``key``."""
        return Node(self.doc, (*self.path, key), value)

    def fields(
        self,
        allowed: Collection[str],
        *,
        required: Collection[str] = (),
        refused: Mapping[str, str] | None = None,
    ) -> dict[str, Node]:
        """Read a mapping whose keys must all be known.

        Args:
            allowed: Keys that may appear.
            required: Keys that must appear.
            refused: Keys that are valid upstream but not supported here, with why.

        Returns:
            Each present key's node.

        Raises:
            ConfigError: Not a mapping, an unknown or refused key, or a missing one.
        """
        if not isinstance(self.value, dict):
            self.fail(f"must be a mapping, not {_kind(self.value)}")
        out: dict[str, Node] = {}
        for key, value in self.value.items():
            if not isinstance(key, str):
                self.fail(f"key {key!r} is not a string")
            node = self.child(key, value)
            if refused and key in refused:
                node.fail(f"not supported: {refused[key]}")
            if key not in allowed:
                node.fail(f"unknown field (supported here: {', '.join(sorted(allowed))})")
            out[key] = node
        for key in required:
            if key not in out:
                self.fail(f"missing required field {key!r}")
        return out

    def string(self, *, allow_empty: bool = False, max_chars: int = 64 * 1024) -> str:
        """The value as a string.

        Raises:
            ConfigError: Not a string, empty when not allowed, or too long.
        """
        if not isinstance(self.value, str):
            self.fail(f"must be a string, not {_kind(self.value)}")
        if not allow_empty and not self.value.strip():
            self.fail("must not be empty")
        if len(self.value) > max_chars:
            self.fail(f"longer than {max_chars} characters")
        return self.value

    def choice(self, options: Collection[str], *, fold_case: bool = False) -> str:
        """A string that must be one of ``options`` (optionally compared case-insensitively).

        Returns:
            The option as spelled in ``options``.

        Raises:
            ConfigError: Another value.
        """
        text = self.string()
        for option in options:
            if text == option or (fold_case and text.lower() == option.lower()):
                return option
        self.fail(f"must be one of {', '.join(options)}, not {text!r}")

    def boolean(self) -> bool:
        """The value as a boolean.

        Raises:
            ConfigError: Not a boolean.
        """
        if not isinstance(self.value, bool):
            self.fail(f"must be true or false, not {_kind(self.value)}")
        return self.value

    def integer(self, *, minimum: int | None = None) -> int:
        """The value as an integer.

        Raises:
            ConfigError: Not an integer or below ``minimum``.
        """
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            self.fail(f"must be an integer, not {_kind(self.value)}")
        if minimum is not None and self.value < minimum:
            self.fail(f"must be at least {minimum}")
        return self.value

    def items(self, *, max_items: int = 10_000, allow_empty: bool = True) -> Iterator[Node]:
        """The value's elements as nodes.

        Raises:
            ConfigError: Not a list, empty when not allowed, or too long.
        """
        if not isinstance(self.value, list):
            self.fail(f"must be a list, not {_kind(self.value)}")
        if not allow_empty and not self.value:
            self.fail("must not be empty")
        if len(self.value) > max_items:
            self.fail(f"more than {max_items} entries")
        return (self.child(i, v) for i, v in enumerate(self.value))

    def strings(self, *, allow_empty: bool = True) -> tuple[str, ...]:
        """A list of non-empty strings.

        Raises:
            ConfigError: Not a list of strings.
        """
        return tuple(item.string() for item in self.items(allow_empty=allow_empty))

    def string_map(self) -> dict[str, str]:
        """A mapping of strings to strings (labels, annotations).

        Raises:
            ConfigError: Another shape.
        """
        if not isinstance(self.value, dict):
            self.fail(f"must be a mapping, not {_kind(self.value)}")
        out: dict[str, str] = {}
        for key, value in self.value.items():
            node = self.child(str(key), value)
            if not isinstance(key, str):
                node.fail("keys must be strings")
            out[key] = node.string(allow_empty=True)
        return out


def _kind(value: object) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    for python_type, name in names.items():
        if isinstance(value, python_type):
            return name
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__
