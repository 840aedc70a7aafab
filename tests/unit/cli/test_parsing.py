"""The command line read as cobra/pflag read cosign's: Go booleans and durations, global flags
after the command, lazy command modules, help with an example everywhere."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from sealgate.cli.main import COMMANDS, build_parser, command_word, main
from sealgate.cli.parsing import go_duration, nearest
from sealgate.deadline import Deadline
from sealgate.errors import UsageError
from tests.support.cli import run as run_cli


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("3m0s", 180.0),
        ("1h", 3600.0),
        ("1h2m3.5s", 3723.5),
        ("500ms", 0.5),
        ("0", 0.0),
        ("30", 30.0),  # sealgate's older --timeout 30
        ("2.5", 2.5),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "90", "s", "3x", "1h-2m", "-5s", "nan", "inf", "1.2.3s"])
def test_bad_durations_are_refused(text: str) -> None:
    if text == "90":
        assert go_duration(text) == 90.0
        return
    with pytest.raises(argparse.ArgumentTypeError):
        go_duration(text)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = build_parser(command_word(argv))
    args, extras = parser.parse_known_args(argv)
    assert extras == []
    return args


@pytest.mark.parametrize(
    ("words", "upload"),
    [
        ([], True),
        (["--upload"], True),
        (["--upload=false"], False),
        (["--upload=0"], False),
        (["--upload=true"], True),
        (["--upload=F"], False),
    ],
)
def test_go_booleans(words: list[str], upload: bool) -> None:
    args = _parse(["sign", *words, "registry.example/app:1"])
    assert args.upload is upload
    assert args.images == ["registry.example/app:1"]


def test_a_bare_boolean_never_takes_the_next_word() -> None:
    args = _parse(["sign", "--recursive", "registry.example/app:1"])
    assert args.recursive is True
    assert args.images == ["registry.example/app:1"]


def test_short_booleans_take_go_values() -> None:
    assert _parse(["sign", "-y=true", "img.example/a:1"]).yes is True
    assert _parse(["sign", "-y=false", "img.example/a:1"]).yes is False


def test_a_word_that_is_not_a_boolean_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="'maybe' is not a boolean"):
        _parse(["sign", "--upload=maybe", "img.example/a:1"])


def test_global_flags_are_accepted_after_the_command() -> None:
    args = _parse(["verify", "--key", "k.pub", "-d", "-t", "90s", "img.example/a:1"])
    assert args.verbose == 1
    assert args.timeout == 90.0
    args = _parse(["-t", "2m", "verify", "--key", "k.pub", "img.example/a:1"])
    assert args.timeout == 120.0
    args = _parse(["verify", "--output-file", "out.txt", "--key", "k", "img.example/a:1"])
    assert args.output_file == "out.txt"


def test_the_default_timeout_is_cosigns_three_minutes() -> None:
    assert _parse(["verify", "--key", "k", "img.example/a:1"]).timeout == 180.0


def test_verbosity_counts() -> None:
    assert _parse(["-vv", "tree", "img.example/a:1"]).verbose == 2
    assert _parse(["tree", "--verbose=false", "img.example/a:1"]).verbose == 0


def test_cosign_certificate_flag_aliases_are_not_abbreviations() -> None:
    # pflag has no abbreviations: a prefix of a flag is not that flag.
    parser = build_parser("verify")
    _, extras = parser.parse_known_args(["verify", "--certificate-identity-reg", "x", "i.ex/a:1"])
    assert "--certificate-identity-reg" in extras


def test_nearest_prefers_a_swap_over_another_word() -> None:
    assert nearest("--kye", ["--key", "--yes", "--type"]) == "--key"
    assert nearest("--zzzzzzzz", ["--key", "--yes"]) is None


def test_output_file_receives_what_the_command_prints(tmp_path: Path) -> None:
    out = tmp_path / "version.json"
    result = run_cli(["version", "--json", "--output-file", str(out)])
    assert result.code == 0, result.err
    assert result.out == ""
    assert '"gitVersion": "v' in out.read_text()


def test_the_timeout_becomes_the_deadline_of_the_whole_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[Deadline] = []

    def handler(args: argparse.Namespace) -> int:
        seen.append(args.deadline)
        return 0

    from sealgate.cli import cmd_env

    monkeypatch.setattr(cmd_env, "_version", handler)
    assert main(["version", "-t", "90s"]) == 0
    assert main(["version", "--timeout=0"]) == 0
    remaining = seen[0].remaining()
    assert remaining is not None and 0.0 < remaining <= 90.0
    assert not seen[1].bounded


def test_every_command_has_a_description_and_an_example() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for entry in COMMANDS:
        if entry.name == "unsupported":
            continue
        command = sub.choices[entry.name]
        nested = next(
            (a for a in command._actions if isinstance(a, argparse._SubParsersAction)), None
        )
        parsers = [command] if nested is None else list(nested.choices.values())
        for each in parsers:
            text = each.format_help()
            if not each.description or "example" not in text:
                missing.append(each.prog)
    assert missing == []


def test_help_lists_every_command_without_importing_their_modules() -> None:
    code = (
        "import sys\n"
        "from sealgate.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('httpx', 'cryptography', 'sealgate.checks', 'sealgate.gate',\n"
        "    'sealgate.workflows', 'rich', 'jsonschema', 'jsonschema_rs') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "HEAVY []" in done.stdout
    for entry in COMMANDS:
        if entry.name != "unsupported":
            assert entry.name in done.stdout


@pytest.mark.parametrize("command", ["verify", "sign", "gate", "attest", "verify-blob"])
def test_command_help_imports_no_heavy_library(command: str) -> None:
    code = (
        "import sys\n"
        "from sealgate.cli.main import main\n"
        f"try:\n    main([{command!r}, '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('httpx', 'cryptography', 'sealgate.checks', 'sealgate.gate',\n"
        "    'rich', 'jsonschema', 'jsonschema_rs') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "HEAVY []" in done.stdout


def test_a_cosign_command_sealgate_lacks_is_refused_with_a_reason() -> None:
    result = run_cli(["piv-tool", "reset"])
    assert result.code == 64
    assert "`piv-tool` is not supported: hardware tokens" in result.err


def test_an_unknown_command_suggests_the_nearest() -> None:
    result = run_cli(["verfy", "img.example/a:1"])
    assert result.code == 64
    assert "unknown command 'verfy' (did you mean verify?)" in result.err


def test_a_missing_gate_config_names_the_flag(tmp_path: Path) -> None:
    result = run_cli(["gate", "--env", "prod", "--config", str(tmp_path / "missing.yaml")])
    assert result.code == 78
    assert "--config" in result.err
