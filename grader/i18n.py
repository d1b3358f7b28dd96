"""Feedback in the student's language: gettext catalogs ``grader/locale/<lang>/LC_MESSAGES/deepgrade.mo``.

``_(message)`` translates a message into the chosen language (English, the msgid, when there is no
translation).  Strings evaluated at import time (exercise titles and hints, check names) are only *marked*
there with :func:`N_` (which returns them unchanged, so they stay the registry's identifiers) and translated
where they are shown (:func:`_`, :func:`name`), so the language may be chosen after the exercises are imported.

The language is chosen once per command (``grader.cli``): ``--lang``, else the locale as gettext reads it
(``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else English.  Only the grader translates: the worker
that runs the student's code never sees a catalog and never sends text that is shown translated.

Catalogs: ``pybabel extract`` (settings in ``babel.cfg`` and ``setup.cfg``) writes ``deepgrade.pot``;
``pybabel update`` and ``pybabel compile`` the ``.po`` and ``.mo`` files, which are committed (see
docs/architecture.md).
"""

from __future__ import annotations

import gettext
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

DOMAIN = "deepgrade"
LOCALEDIR = Path(__file__).resolve().parent / "locale"
#: The languages deepgrade speaks; English is the source language (its catalog is the identity).
LANGUAGES: tuple[str, ...] = ("en", "zh_CN")
DEFAULT = "en"
#: What a user may type for each language (``--lang zh``, ``LANG=zh_CN.UTF-8``), lower case, ``-`` as ``_``.
_ALIASES = {
    "en": "en",
    "english": "en",
    "c": "en",
    "posix": "en",
    "zh": "zh_CN",
    "zh_cn": "zh_CN",
    "zh_hans": "zh_CN",
    "zh_sg": "zh_CN",
    "chinese": "zh_CN",
}


class UnknownLanguage(ValueError):
    """A ``--lang`` deepgrade has no catalog for (a user's mistake: one line, exit status 2)."""


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (translate it where it is shown)."""
    return message


def normalise(lang: str) -> str | None:
    """The language of deepgrade that ``lang`` names (``zh``, ``zh-CN``, ``zh_CN.UTF-8``, ``en_GB``), or None."""
    tag = lang.strip().split(".", 1)[0].split("@", 1)[0].replace("-", "_").lower()
    if tag in _ALIASES:
        return _ALIASES[tag]
    return _ALIASES.get(tag.split("_", 1)[0]) if tag.split("_", 1)[0] == "en" else None


def from_environment(environ: dict[str, str] | None = None) -> str:
    """The language the locale asks for, as gettext reads it: the first of ``LANGUAGE``, ``LC_ALL``,
    ``LC_MESSAGES`` and ``LANG`` that is set, its first language deepgrade has; English otherwise."""
    env = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var)
        if value:
            for lang in value.split(":"):
                code = normalise(lang)
                if code:
                    return code
            return DEFAULT
    return DEFAULT


@cache
def _catalog(code: str) -> gettext.NullTranslations:
    if code == DEFAULT:  # the msgids are English
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALEDIR, languages=[code])


_current: str | None = None


def set_language(lang: str | None = None) -> str:
    """Choose the language of everything shown from now on: ``lang`` (a name :func:`normalise` knows;
    :class:`UnknownLanguage` otherwise), or the locale's when None.  Returns the code chosen."""
    global _current
    if lang is None:
        code = from_environment()
    else:
        found = normalise(lang)
        if found is None:
            raise UnknownLanguage(
                _("unknown language {lang}; deepgrade speaks {languages} (e.g. --lang zh)").format(
                    lang=repr(lang), languages=", ".join(LANGUAGES)
                )
            )
        code = found
    try:
        _catalog(code)  # a missing catalog fails here, not in the middle of a report
    except OSError:
        if lang is not None:
            raise UnknownLanguage(
                _("this installation of deepgrade has no {code} catalog ({folder})").format(code=code, folder=LOCALEDIR)
            ) from None
        code = DEFAULT  # the locale asks for it: English, as gettext does without a catalog
    _current = code
    return code


def language() -> str:
    """The language chosen (the locale's until :func:`set_language` is called)."""
    return _current or from_environment()


def _translations() -> gettext.NullTranslations:
    """The chosen language's catalog; none (English) where it is missing (the error that says so is itself
    built with :func:`_`)."""
    try:
        return _catalog(language())
    except OSError:
        return gettext.NullTranslations()


def _(message: str) -> str:
    """``message`` in the chosen language (unchanged when the catalog has no translation)."""
    return _translations().gettext(message) if message else message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for the count ``n`` in the chosen language."""
    return _translations().ngettext(singular, plural, n)


# ----------------------------------------------------------------------------- names built from templates
#: Check names built by a factory (``grader.checks.standard.named``) from a template: a function's name and
#: the template's text.  Listed here, not where they are used, so a check's name is translated wherever it
#: is shown (a report rebuilt from saved results included) without importing the exercises.  A factory's new
#: template is added here (``template`` refuses one that is not).
TEMPLATES: tuple[str, ...] = (
    N_("{function} matches the reference"),
    N_("{function} matches recorded answers"),
    N_("{function} matches torch"),
    N_("{function} matches torch autograd"),
    N_("{function} passes the gradient check"),
    N_("{function} leaves dout and the cache unchanged"),
    N_("{function} leaves its inputs unchanged"),
    N_("{function} is finite on extreme inputs"),
    N_("{function} gradient passes the gradient check"),
    N_("{function} gradient matches torch autograd"),
    N_("{function} gradient is finite and correct on extreme inputs"),
    N_("{function} is finite on extreme logits"),
    N_("{function} matches torch.optim over several steps"),
    N_("{function}.step leaves the gradients unchanged"),
    N_("{function}.step updates the parameters in place"),
)
#: The suffix of a hidden twin's name (``grader.registry.HIDDEN_SUFFIX``), translated on its own
HIDDEN = " [hidden]"


def template(message: str) -> str:
    """``message``, a check-name template of :data:`TEMPLATES` (a ``ValueError`` for any other)."""
    if message not in TEMPLATES:
        raise ValueError(f"{message!r} is not in grader.i18n.TEMPLATES: add it there, so its names are translated")
    return message


@cache
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    found = []
    for msg in sorted(TEMPLATES, key=lambda m: -len(re.sub(r"\{\w+\}", "", m))):  # the most specific first
        pieces = re.split(r"\{(\w+)\}", msg)
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(pieces))
        found.append((re.compile(regex + r"(?P<_rest>(?: \(.*\))?)$"), msg))
    return found


def name(text: str) -> str:
    """A check's name in the chosen language: its own translation, else that of the template it was built
    from (the parts filled in, a function's name or a domain's label in brackets, stay as they are); the
    hidden twin's suffix is translated on its own.  An unknown name is shown as it is."""
    hidden = text.endswith(HIDDEN)
    base = text.removesuffix(HIDDEN)
    shown = _(base)
    if shown == base and language() != DEFAULT:
        for pattern, msg in _patterns():
            m = pattern.match(base)
            if m:
                fields = {k: v for k, v in m.groupdict().items() if k != "_rest"}
                shown = _(msg).format(**fields) + m.group("_rest")
                break
    return shown + (_(" [hidden]") if hidden else "")


# ----------------------------------------------------------------------------- argparse's own messages
#: The messages of the standard library's argparse that a user of deepgrade can see (its headings, its
#: ``-h`` help and its usage errors).  argparse translates them with gettext's default domain, for which no
#: Chinese catalog is installed, so deepgrade's catalog holds them and :func:`argparse_messages` hands them to
#: argparse while deepgrade's parser is built and run.  They are argparse's msgids, %-placeholders included
#: (argparse fills them in itself); one that a newer Python words differently simply stays in English.
ARGPARSE: tuple[str, ...] = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("unexpected option string: %s"),
)


@contextmanager
def argparse_messages() -> Iterator[None]:
    """argparse's messages in the chosen language while the block runs (argparse looks its ``_`` and
    ``ngettext`` up when it shows a message: they are pointed at deepgrade's catalog, then restored)."""
    import argparse

    saved = {name: getattr(argparse, name) for name in ("_", "ngettext")}
    setattr(argparse, "_", _)  # noqa: B010 - a module attribute typeshed does not declare
    setattr(argparse, "ngettext", ngettext)  # noqa: B010
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(argparse, name, value)


def language_in(argv: list[str]) -> str | None:
    """The value of ``--lang`` in a command line, before it is parsed (so that ``--help`` and the parser's
    own errors are in that language too), or None."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None
