"""Every ``hub`` subcommand and option says what it is for in ``--help``."""

from __future__ import annotations

import argparse

import pytest

from hub.cli import build_parser, main


def _undocumented(parser: argparse.ArgumentParser) -> list[str]:
    """Every subcommand and option under ``parser`` without help text, as ``hub store status --json``."""
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        if not action.help or action.help == argparse.SUPPRESS:
            missing.append(f"{parser.prog} {name}")
        if isinstance(action, argparse._SubParsersAction):
            documented = {c.dest for c in action._choices_actions if c.help}
            for command, subparser in action.choices.items():
                if command not in documented:
                    missing.append(f"{parser.prog} {command}")
                missing += _undocumented(subparser)
    return missing


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                found += _commands(subparser) or [subparser.prog]
    return found


def test_every_subcommand_and_option_has_help() -> None:
    assert _undocumented(build_parser()) == []


def test_the_walk_sees_the_whole_tree_and_would_notice_a_gap() -> None:
    parser = build_parser()
    commands = _commands(parser)
    assert {"hub store url", "hub access apply", "hub push status", "hub api serve", "hub status"} <= set(commands)
    led = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["ledger"]
    led.add_argument("--undocumented")
    assert _undocumented(parser) == ["hub ledger --undocumented"]


@pytest.mark.parametrize("command", ["store", "access apply", "push status", "api serve", "calendar load"])
def test_a_subcommands_help_starts_with_what_it_does(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([*command.split(), "--help"])
    usage, _, rest = capsys.readouterr().out.partition("\n\n")
    assert usage.startswith(f"usage: hub {command}") and rest.split("\n")[0].strip()


def _handlers(parser: argparse.ArgumentParser) -> list:
    found = [parser.get_default("func")] if parser.get_default("func") else []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                found += _handlers(subparser)
    return found


def test_every_command_comes_from_a_feature_package() -> None:
    """``hub.cli`` only assembles: each command's handler lives in the ``cli`` module that registers it."""
    from hub import cli

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    registrars = {register.__module__ for register in cli.COMMANDS}
    for name, parser in sub.choices.items():
        handlers = {f.__module__ for f in _handlers(parser)}
        assert handlers and handlers <= registrars | {"hub.ops.airflow_cli"}, (name, handlers)
    assert "hub.cli" not in registrars and all(r.endswith("cli") for r in registrars)
    assert len(registrars) == len(cli.COMMANDS)
