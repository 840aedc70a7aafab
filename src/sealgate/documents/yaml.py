"""Defensive YAML reading for every file sealgate consumes (configs, versions files, manifests).

``yaml.safe_load`` alone is not enough for a deploy gate or an admission policy:

* a "billion laughs" document is a few hundred bytes that expands to billions of nodes once
  anything walks it (our extractors, ``json.dumps``, jsonschema). We count alias events while
  composing and compute the *expanded* node count on the node graph (linear time thanks to
  memoisation) before constructing anything;
* duplicate mapping keys are silently "last one wins" in PyYAML; in a policy file that hides
  mistakes (two ``softFail:`` lines), so they are an error;
* error messages must name the file and line, so we keep a map from each value's path to the
  line it starts on;
* PyYAML raises more than ``YAMLError`` on bad input: ``ReaderError`` from the loader's
  constructor for a control character, ``ValueError`` from a constructor for ``!!int x`` or
  ``2001-13-45``. Every exception the library raises while loading user text becomes a
  :class:`~sealgate.errors.ConfigError` naming the file and the line.

Construction itself is PyYAML's ``SafeLoader`` (the same constructors ``yaml.safe_load`` uses).
Pure apart from :func:`read_yaml_file`, which reads one capped file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from sealgate.config import MiB
from sealgate.errors import ConfigError
from sealgate.files import read_capped

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_NODES",
    "PathKey",
    "YamlDocument",
    "format_path",
    "parse_yaml",
    "read_yaml_file",
]

#: A step in a value's path: a mapping key (as its source text) or a sequence index.
PathKey = str | int

#: Alias events allowed in one stream; real values files use a handful of anchors.
MAX_ALIASES = 100
#: Expanded nodes allowed in one document (what a walker would visit, aliases expanded).
MAX_NODES = 1_000_000
#: Nesting allowed; deeper documents are refused rather than risking RecursionError.
MAX_DEPTH = 200
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class YamlDocument:
    """One constructed document of a stream, with the line of every value in it."""

    #: The constructed value (``yaml.safe_load`` semantics).
    data: object
    #: Where the document came from (a path as given, or ``<stdin>``).
    source: str
    #: 0-based position of the document in the stream.
    index: int
    #: 1-based line of each value, by path (mapping keys as their source text).
    lines: Mapping[tuple[PathKey, ...], int]

    def line_of(self, path: tuple[PathKey, ...]) -> int:
        """Return the line of ``path``, or of its nearest ancestor that has one.

        Returns:
            A 1-based line number.
        """
        for end in range(len(path), -1, -1):
            key = tuple(str(p) if not isinstance(p, int) else p for p in path[:end])
            if key in self.lines:
                return self.lines[key]
        return 1

    def where(self, path: tuple[PathKey, ...]) -> str:
        """``file:line`` of ``path``, for error messages."""
        return f"{self.source}:{self.line_of(path)}"


def format_path(path: tuple[PathKey, ...]) -> str:
    """Render a value path the way reports show it: ``spec.containers[0].image``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "."


class _LimitedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses streams with more than ``max_aliases`` alias events."""

    def __init__(self, stream: str, max_aliases: int) -> None:
        super().__init__(stream)
        self._aliases_seen = 0
        self._max_aliases = max_aliases

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases_seen += 1
            if self._aliases_seen > self._max_aliases:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _RefusedError(f"more than {self._max_aliases} YAML aliases", mark.line + 1)
        return super().compose_node(parent, index)

    def construct_object(self, node: Node, deep: bool = False) -> object:
        # Constructors raise plain ValueError/TypeError/OverflowError on values their tag
        # cannot hold (``!!int x``, ``2001-13-45``); name the innermost node's line.
        try:
            return super().construct_object(node, deep)
        except (yaml.YAMLError, _RefusedError, RecursionError):
            raise
        except Exception as err:
            shown = node.value[:60] if isinstance(node, ScalarNode) else type(node).__name__
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise _RefusedError(
                f"invalid YAML: cannot construct {tag} from {shown!r} ({type(err).__name__})",
                node.start_mark.line + 1,
            ) from None


class _RefusedError(Exception):
    """A limit, rule or constructor failure on user text; carries the line for the ConfigError."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _check_graph(root: Node, max_nodes: int) -> None:
    """Refuse cycles, duplicate keys, deep nesting and oversized expansions."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: Node, depth: int) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        line = node.start_mark.line + 1
        if depth > MAX_DEPTH:
            raise _RefusedError(f"nested deeper than {MAX_DEPTH} levels", line)
        if id(node) in in_progress:
            raise _RefusedError("recursive YAML alias", line)
        in_progress.add(id(node))
        total = 1
        if isinstance(node, SequenceNode):
            for child in node.value:
                total += size(child, depth + 1)
        elif isinstance(node, MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.tag != _MERGE_TAG:
                    if key.value in seen:
                        raise _RefusedError(f"duplicate key {key.value!r}", key.start_mark.line + 1)
                    seen.add(key.value)
                total += size(key, depth + 1) + size(value, depth + 1)
        if total > max_nodes:
            raise _RefusedError(
                f"document expands to more than {max_nodes} nodes (YAML bomb?)", line
            )
        in_progress.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root, 0)


def _collect_lines(
    node: Node, path: tuple[PathKey, ...], out: dict[tuple[PathKey, ...], int], line: int
) -> None:
    # A mapping value is reported at its key's line ("spec:"), not where its block starts.
    out.setdefault(path, line)
    if isinstance(node, SequenceNode):
        for i, child in enumerate(node.value):
            _collect_lines(child, (*path, i), out, child.start_mark.line + 1)
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.tag != _MERGE_TAG:
                _collect_lines(value, (*path, str(key.value)), out, key.start_mark.line + 1)


def parse_yaml(
    text: str | bytes,
    *,
    source: str,
    max_aliases: int = MAX_ALIASES,
    max_nodes: int = MAX_NODES,
) -> list[YamlDocument]:
    """Parse a (multi-document) YAML stream safely.

    Args:
        text: The stream; bytes must be UTF-8 (a BOM is allowed).
        source: Name used in error messages (a path, or ``<stdin>``).
        max_aliases: Alias events allowed in the whole stream.
        max_nodes: Expanded nodes allowed per document.

    Returns:
        The documents in stream order (empty documents have ``data`` None).

    Raises:
        ConfigError: not UTF-8, not YAML, or a limit or rule was hit (names file and line).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise ConfigError(f"{source}: not UTF-8 text (byte {err.start})") from err
    if "\x00" in text:
        raise ConfigError(f"{source}: binary data, not YAML")
    with _library_errors(source, text):
        loader = _LimitedLoader(text, max_aliases)
    documents: list[YamlDocument] = []
    try:
        while True:
            with _library_errors(source, text):
                node = loader.get_node() if loader.check_node() else None
            if node is None:
                break
            with _library_errors(source, text, refused_only=True):
                _check_graph(node, max_nodes)
            with _library_errors(source, text):
                data = loader.construct_document(node)
            lines: dict[tuple[PathKey, ...], int] = {}
            _collect_lines(node, (), lines, node.start_mark.line + 1)
            documents.append(YamlDocument(data, source, len(documents), lines))
    finally:
        loader.dispose()
    return documents


@contextmanager
def _library_errors(source: str, text: str, *, refused_only: bool = False) -> Iterator[None]:
    """Turn what PyYAML (or a limit) raises on user text into a ConfigError with file and line.

    ``refused_only`` wraps our own checks: only their deliberate refusals are converted, so a
    bug in them still surfaces as one.
    """
    try:
        yield
    except _RefusedError as err:
        raise ConfigError(f"{source}:{err.line}: {err}") from None
    except Exception as err:
        if refused_only:
            raise
        raise _as_config_error(err, source, text) from None


def _as_config_error(err: Exception, source: str, text: str) -> ConfigError:
    if isinstance(err, ReaderError):
        # Raised before any mark exists; ``position`` is a character offset into ``text``.
        line = text.count("\n", 0, max(0, err.position)) + 1
        char = err.character if isinstance(err.character, int) else ord(err.character or "?")
        return ConfigError(
            f"{source}:{line}: invalid YAML: character #x{char:04x} is not allowed "
            "(control characters must be escaped in a double-quoted string)"
        )
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = err.problem or err.context or "invalid YAML"
        return ConfigError(f"{where}: invalid YAML: {problem}")
    if isinstance(err, yaml.YAMLError):
        return ConfigError(f"{source}: invalid YAML: {err}")
    if isinstance(err, RecursionError):
        return ConfigError(f"{source}: YAML nested too deeply")
    # Anything else the library raised on this text: still the file's fault, not ours.
    return ConfigError(f"{source}: invalid YAML ({type(err).__name__})")


def read_yaml_file(path: Path, *, max_bytes: int = 16 * MiB, **limits: int) -> list[YamlDocument]:
    """Read and parse a YAML file, refusing files larger than ``max_bytes``.

    Args:
        path: The file; ``-`` is not handled here (the CLI reads stdin itself).
        max_bytes: Size cap, checked before parsing.
        **limits: ``max_aliases`` / ``max_nodes`` for :func:`parse_yaml`.

    Returns:
        The documents in stream order.

    Raises:
        ConfigError: unreadable, too large, or not acceptable YAML.
    """
    raw = read_capped(path, max_bytes, error=ConfigError)
    return parse_yaml(raw, source=str(path), **limits)
