"""argparse made to read a cosign command line the way cobra and pflag read it.

* Booleans are Go booleans: ``--upload``, ``--upload=false``, ``-y=true``; a bare boolean flag
  never takes the next word as its value (``sign --upload IMAGE`` signs IMAGE).
* ``-t/--timeout`` is a Go duration (``90s``, ``3m0s``); a bare number is seconds, as
  sealgate's own ``--timeout 30`` always was.
* cosign's global flags (``-d/--verbose``, ``--output-file``, ``-t/--timeout``) are accepted
  before or after the command word, as cobra's persistent flags are.
* No abbreviations (pflag has none), and a parse error prints the usage line and the nearest
  flag instead of argparse's exit 2 (2 means "deploy blocked" here).
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from sealgate.errors import UsageError
from sealgate.files import parse_go_bool

__all__ = [
    "DEFAULT_TIMEOUT",
    "CommandParser",
    "GoBoolAction",
    "RootParser",
    "bool_flag",
    "go_duration",
    "nearest",
]

#: cosign's default ``--timeout`` (``3m0s``): the budget of the whole command.
DEFAULT_TIMEOUT = 180.0

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
_UNITS["h"] = 3600.0
_PIECE = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def bool_flag(value: str) -> bool:
    """A flag's boolean value, read as pflag reads it (Go's ``strconv.ParseBool``)."""
    parsed = parse_go_bool(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a boolean (true or false)")
    return parsed


def go_duration(value: str) -> float:
    """Seconds in a Go duration (``time.ParseDuration``: ``1h2m3.5s``, ``90s``, ``0``).

    A bare non-negative number is taken as seconds (sealgate's older ``--timeout 30``).
    """
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    else:
        if seconds >= 0 and text.lower() not in ("inf", "nan", "infinity"):
            return seconds
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    total, pos = 0.0, 0
    while pos < len(body):
        match = _PIECE.match(body, pos)
        if match is None:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not body or pos != len(body):
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration (Go syntax: 90s, 3m0s, 1h)")
    if sign < 0 and total > 0:
        raise argparse.ArgumentTypeError(f"{value!r}: a timeout cannot be negative")
    return total


def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment): a swap costs one edit."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def nearest(word: str, candidates: list[str]) -> str | None:
    """The candidate fewest edits from ``word`` (typos, swapped letters), if any is close."""
    close = difflib.get_close_matches(word, candidates, n=5, cutoff=0.5)
    scored = sorted((_edit_distance(word, c), c) for c in {*close, *candidates})
    if not scored or scored[0][0] > max(2, len(word) // 3):
        return None
    return scored[0][1]


class GoBoolAction(argparse.Action):
    """``store_true`` as pflag does it: bare for true, ``=true|false`` for either."""

    def __init__(  # noqa: PLR0917 - argparse calls actions with these positionally
        self,
        option_strings: Sequence[str],
        dest: str,
        default: Any = False,
        required: bool = False,
        help: str | None = None,
        metavar: str | None = None,
        **_ignored: Any,
    ) -> None:
        super().__init__(
            option_strings,
            dest,
            nargs="?",
            const=True,
            default=default,
            type=bool_flag,
            required=required,
            help=help,
            metavar=metavar or "BOOL",
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)


def _store_or_go_bool(**kwargs: Any) -> argparse.Action:
    """argparse's default action, except that ``type=bool_flag`` makes a Go boolean."""
    if kwargs.get("type") is bool_flag:
        kwargs.pop("type")
        kwargs.pop("nargs", None)
        return GoBoolAction(**kwargs)
    return argparse._StoreAction(**kwargs)


class _VerboseAction(argparse.Action):
    """``-v``/``-d``/``--verbose``: counted (``-vv`` is debug); ``--verbose=false`` is off."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs="?", const=True, type=bool_flag, metavar="BOOL")
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        current = getattr(namespace, self.dest, 0)
        current = current if isinstance(current, int) else 0
        setattr(namespace, self.dest, current + 1 if values else 0)


class _Parser(argparse.ArgumentParser):
    """Go booleans, no abbreviations, and errors raised as :class:`UsageError`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        # Every ``action="store_true"`` of every command (and its argument groups, which share
        # this registry) becomes a Go boolean.
        self.register("action", "store_true", GoBoolAction)
        self.register("action", None, _store_or_go_bool)

    def _bare_booleans(self) -> frozenset[str]:
        return frozenset(
            option
            for action in self._actions
            if isinstance(action, GoBoolAction | _VerboseAction)
            or getattr(action, "boolean", False)
            for option in action.option_strings
        )

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        words = list(sys.argv[1:] if args is None else args)
        bare = self._bare_booleans()
        rewritten: list[str] = []
        for index, word in enumerate(words):
            if word == "--":
                rewritten += words[index:]
                break
            if re.fullmatch(r"-[vd]{2,}", word) and "-v" in bare:
                rewritten += ["-v=true"] * (len(word) - 1)  # -vv: debug
                continue
            rewritten.append(f"{word}=true" if word in bare else word)
        return super().parse_known_args(rewritten, namespace)

    def option_names(self) -> list[str]:
        return [option for action in self._actions for option in action.option_strings]

    def error(self, message: str) -> NoReturn:
        hint = ""
        unknown = re.search(r"unrecognized arguments: (\S+)", message)
        if unknown:
            flag = unknown.group(1).split("=", 1)[0]
            close = nearest(flag, self.option_names())
            if close:
                hint = f" (did you mean {close}?)"
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            names = re.findall(r"[\w-]+", choice.group(2))
            close = nearest(choice.group(1), names)
            message = f"unknown command {choice.group(1)!r}"
            hint = f" (did you mean {close}?)" if close else ""
        raise UsageError(f"{self.prog}: {message}{hint}\n{self.short_usage()}")

    def short_usage(self) -> str:
        """``usage: sealgate verify [flags] IMAGE [IMAGE ...]`` (cobra's usage line)."""
        words = []
        for action in self._actions:
            if action.option_strings or action.help == argparse.SUPPRESS:
                continue
            name = action.metavar or action.dest
            if isinstance(action, argparse._SubParsersAction):
                name = "COMMAND"
            words.append(f"{name} [{name} ...]" if action.nargs in ("+", "*") else str(name))
        tail = " ".join(words)
        return f"usage: {self.prog} [flags] {tail} (see '{self.prog} --help')"

    def unknown_arguments(self, extras: list[str]) -> NoReturn:
        """Report words this command does not take, with the nearest flag."""
        self.error(f"unrecognized arguments: {' '.join(extras)}")


def add_global_flags(parser: argparse.ArgumentParser, *, root: bool) -> None:
    """cosign's persistent flags; on a command they leave the root's values alone unless given."""
    keep = {} if root else {"default": argparse.SUPPRESS}
    parser.add_argument(
        "-v",
        "-d",
        "--verbose",
        action=_VerboseAction,
        help="log more (-vv: debug; cosign's -d/--verbose)",
        **({"default": 0} if root else keep),
    )
    parser.add_argument(
        "--output-file",
        metavar="FILE",
        help="write the command's output (standard output) to FILE",
        **({"default": None} if root else keep),
    )
    parser.add_argument(
        "-t",
        "--timeout",
        type=go_duration,
        metavar="DURATION",
        help="budget of the whole command, Go syntax (default 3m0s; 0 = none)",
        **({"default": DEFAULT_TIMEOUT} if root else keep),
    )


class CommandParser(_Parser):
    """A command's parser: its own flags plus cosign's global ones."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_global_flags(self, root=False)
        # The deepest command parsed records itself: its usage is the one a bad word shows.
        self.set_defaults(_parser=self)


class RootParser(_Parser):
    """The ``sealgate`` parser itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_global_flags(self, root=True)
