"""The ``deepgrade`` command.  Each sub-command lives in ``grader/commands/<name>.py`` and is found there."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import signal
import sys

import grader.commands as commands
from grader import i18n, registry, stopping
from grader.commands import UsageError
from grader.i18n import N_, _

DESCRIPTION = N_("Grade deep-learning exercises safely.")


def error_line(message: str) -> str:
    """A user's mistake, as deepgrade prints it: ``deepgrade: error: <message>`` in the chosen language."""
    return _("deepgrade: error: {message}").format(message=message)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``deepgrade: error: ...``) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, error_line(f"{self.prog.removeprefix('deepgrade ')}: {message}") + "\n")


def parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every sub-command; of the one ``argv`` names only, when it names one (each sub-command
    imports what it needs, and ``check`` should not wait for what ``grade`` or ``watch`` import)."""
    p = _Parser(prog="deepgrade", description=_(DESCRIPTION))
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    if argv and argv[0] in names:
        names = [argv[0]]
    mods = [importlib.import_module(f"{commands.__name__}.{name}") for name in names]
    for mod in sorted(mods, key=lambda m: getattr(m, "ORDER", 50)):
        sp = sub.add_parser(mod.NAME, help=_(mod.HELP), description=_(mod.HELP))
        mod.add_arguments(sp)
        sp.set_defaults(_run=mod.run)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a sub-command.  SIGINT, SIGTERM and SIGHUP stop it: every process it started is killed, what was
    finished is kept, one line goes to stderr and the status is the shell's (130, 143, 129)."""
    with stopping.stop_on_signals():
        had = set(stopping.descendants(roots=[os.getpid()]))  # an in-process caller's children are its own
        try:
            return _main(argv)
        except KeyboardInterrupt as exc:
            stopping.acknowledge()
            stopped = exc if isinstance(exc, stopping.Stopped) else stopping.Stopped(stopping.received or signal.SIGINT)
            stopping.stop_workers(spare=had)
            print(f"deepgrade: {stopped}", file=sys.stderr)
            return stopped.status


def _main(argv: list[str] | None) -> int:
    line = sys.argv[1:] if argv is None else argv
    try:  # the language of --help and of the parser's own errors: --lang as written, else the locale's
        i18n.set_language(i18n.language_in(line))
    except i18n.UnknownLanguage:
        i18n.set_language(None)  # said below, once the command line is parsed
    try:
        with i18n.argparse_messages():
            args = parser(line).parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed on one line
        return int(exc.code or 0)
    try:
        i18n.set_language(getattr(args, "lang", None))  # --lang, else the locale's; before anything is shown
    except i18n.UnknownLanguage as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except UsageError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return 2
    except registry.UnknownExercise as exc:  # a user's mistake; any other KeyError is a bug and shows as one
        print(error_line(str(exc)), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
