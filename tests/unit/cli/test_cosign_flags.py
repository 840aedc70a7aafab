"""Every cosign 2.x flag of the commands sealgate shares is accepted, or refused with a reason.

A cosign user swaps the binary name and keeps their flags: none may be "unrecognized". The
flags come from cosign's command docs (``cosign_v2_flags.py``); each is parsed by the real
parser of the command, and a refusal must name the flag and say why.
"""

from __future__ import annotations

import pytest

from sealgate.cli.main import build_parser
from sealgate.errors import UsageError
from tests.unit.cli.cosign_v2_flags import COSIGN_FLAGS, GLOBAL

#: Arguments each command needs besides the flag under test (required flags, positionals).
_BASE: dict[str, list[str]] = {
    "generate-key-pair": [],
    "public-key": ["--key", "cosign.key"],
    "import-key-pair": ["--key", "ec.pem"],
    "attest": ["--predicate", "p.json", "registry.example/app:1"],
    "attest-blob": ["--predicate", "p.json", "blob.txt"],
    "sign-blob": ["blob.txt"],
    "verify-blob": ["blob.txt"],
    "verify-blob-attestation": ["blob.txt"],
    "attach signature": ["--signature", "c2ln", "registry.example/app:1"],
    "attach attestation": ["--attestation", "a.json", "registry.example/app:1"],
    "attach sbom": ["--sbom", "s.json", "registry.example/app:1"],
    "save": ["--dir", "out", "registry.example/app:1"],
    "load": ["--dir", "out", "registry.example/app"],
    "env": [],
    "version": [],
    "initialize": [],
    "copy": ["registry.example/app:1", "mirror.example/app:1"],
}

#: Values for flags that take a choice; every other flag gets a plain word.
_VALUES = {
    "--output": "json",
    "--registry-referrers-mode": "legacy",
    "--max-workers": "2",
    "--only": "sig",
    "--platform": "linux/amd64",
    "--input-format": "json",
    "--timeout": "90s",
}
_TYPE_VALUES = {
    "triangulate": "signature",
    "clean": "signature",
    "attach sbom": "cyclonedx",
}


def _argv(command: str, flag_words: list[str]) -> list[str]:
    base = _BASE.get(command, ["registry.example/app:1"])
    return [*command.split(), *flag_words, *base]


def _value(command: str, flag: str) -> str:
    if flag == "--type":
        return _TYPE_VALUES.get(command, "custom")
    return _VALUES.get(flag, "value")


def _cases() -> list[tuple[str, str, str, bool]]:
    cases = []
    for command, flags in COSIGN_FLAGS.items():
        for long, short, takes_value in [*flags, *GLOBAL]:
            cases.append((command, long, long, takes_value))
            if short:
                cases.append((command, short, long, takes_value))
    return cases


def _parse(argv: list[str]) -> list[str]:
    parser = build_parser(argv[0])
    _, extras = parser.parse_known_args(argv)
    return extras


@pytest.mark.parametrize(("command", "flag", "long", "takes_value"), _cases())
def test_cosign_flag_is_accepted_or_refused_with_a_reason(
    command: str, flag: str, long: str, takes_value: bool
) -> None:
    forms = [[flag, _value(command, long)], [f"{flag}={_value(command, long)}"]]
    if not takes_value:
        forms = [[flag], [f"{flag}=true"]]
    for words in forms:
        argv = _argv(command, words)
        try:
            extras = _parse(argv)
        except UsageError as err:
            assert "unrecognized" not in err.message, argv
            assert "not supported" in err.message, (argv, err.message)
            assert long in err.message, (argv, err.message)
            continue
        assert extras == [], (argv, extras)


@pytest.mark.parametrize(
    ("command", "flag"),
    [(c, long) for c, flags in COSIGN_FLAGS.items() for long, _, value in flags if not value],
)
def test_cosign_boolean_flag_set_false_is_always_accepted(command: str, flag: str) -> None:
    assert _parse(_argv(command, [f"{flag}=false"])) == []


def test_every_cosign_command_of_the_list_is_a_sealgate_command() -> None:
    parser = build_parser()
    words = {command.split()[0] for command in COSIGN_FLAGS}
    help_text = parser.format_help()
    for word in words:
        assert f" {word} " in help_text or f"    {word}\n" in help_text, word


def test_a_refused_flag_says_why_in_one_line() -> None:
    with pytest.raises(UsageError) as info:
        _parse(_argv("sign", ["--sk"]))
    assert info.value.message.startswith("--sk is not supported: hardware security keys")
    assert "\n" not in info.value.message


def test_a_flag_cosign_does_not_have_is_still_unrecognized_with_the_nearest() -> None:
    parser = build_parser("sign")
    args, extras = parser.parse_known_args(["sign", "--kye", "k", "registry.example/app:1"])
    assert extras == ["--kye"]
    with pytest.raises(UsageError, match=r"unrecognized arguments: --kye \(did you mean --key\?\)"):
        args._parser.unknown_arguments(extras)
