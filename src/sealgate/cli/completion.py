"""Shell completion scripts for bash, zsh and fish, made from the full command tree."""

from __future__ import annotations

import argparse

__all__ = ["command_options", "script"]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def command_options() -> dict[str, list[str]]:
    """Every command word (``attach signature`` for nested ones) and its flags."""
    from sealgate.cli.main import build_parser

    found: dict[str, list[str]] = {}

    def walk(prefix: str, parser: argparse.ArgumentParser) -> None:
        for name, child in _subparsers(parser).items():
            word = f"{prefix} {name}".strip()
            found[word] = sorted(
                option
                for action in child._actions
                if action.help != argparse.SUPPRESS
                for option in action.option_strings
                if option.startswith("--")
            )
            walk(word, child)

    walk("", build_parser())
    return found


def _bash(commands: dict[str, list[str]]) -> str:
    top = " ".join(sorted(c for c in commands if " " not in c))
    cases = "".join(
        f'    "{word}") opts="{" ".join(options)}" ;;\n' for word, options in commands.items()
    )
    return f"""# bash completion for sealgate; load with: source <(sealgate completion bash)
_sealgate() {{
  local cur words cmd opts
  cur="${{COMP_WORDS[COMP_CWORD]}}"
  words=()
  for w in "${{COMP_WORDS[@]:1:COMP_CWORD-1}}"; do
    [[ "$w" == -* ]] || words+=("$w")
  done
  cmd="${{words[*]:0:2}}"
  case "$cmd" in
{cases}    *) case "${{words[0]}}" in
{cases}         *) opts="{top}" ;;
       esac ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}}
complete -o default -F _sealgate sealgate
"""


def _fish(commands: dict[str, list[str]]) -> str:
    top = " ".join(sorted(c for c in commands if " " not in c))
    lines = [
        "# fish completion for sealgate; save as ~/.config/fish/completions/sealgate.fish",
        f"complete -c sealgate -n __fish_use_subcommand -f -a '{top}'",
    ]
    for word, options in commands.items():
        condition = " && ".join(f"__fish_seen_subcommand_from {w}" for w in word.split())
        for option in options:
            lines.append(f"complete -c sealgate -n '{condition}' -l {option[2:]}")
    return "\n".join(lines) + "\n"


def script(shell: str) -> str:
    """The completion script for ``shell`` (``bash``, ``zsh`` or ``fish``)."""
    commands = command_options()
    if shell == "fish":
        return _fish(commands)
    if shell == "zsh":
        return (
            "#compdef sealgate\n# zsh completion for sealgate (bash completion through "
            "bashcompinit)\nautoload -U +X bashcompinit && bashcompinit\n" + _bash(commands)
        )
    return _bash(commands)
