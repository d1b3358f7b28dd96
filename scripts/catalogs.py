"""The gettext catalogs of deepgrade (``grader/locale``), made with Babel (``pip install --group i18n``).

    python scripts/catalogs.py extract   # grader/**.py -> grader/locale/deepgrade.pot (the msgids)
    python scripts/catalogs.py update    # merge the .pot into each language's deepgrade.po
    python scripts/catalogs.py compile   # each .po -> .mo (committed: a checkout and the wheel need no Babel)

After changing a student-facing string: extract, update, translate the new entries of every .po (an empty or
fuzzy msgstr fails tests/test_i18n.py), compile, and commit the .pot, .po and .mo files together.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "grader" / "locale"
POT = LOCALE / "deepgrade.pot"
LANGUAGES = ("en", "zh_CN")


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(pot: Path = POT) -> None:
    """Every marked string of ``grader/`` (``_``, ``N_``, ``ngettext``; the mapping is ``babel.cfg``) into ``pot``.
    No source locations, so a moved line changes no catalog."""
    pybabel(
        "extract",
        "-F",
        str(ROOT / "babel.cfg"),
        "--no-location",
        "--sort-output",
        "--omit-header",
        "-w",
        "120",
        "-o",
        str(pot),
        str(ROOT),
    )


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "deepgrade.po"


def read(lang: str) -> Catalog:
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang)


def _brace_only(catalog: Catalog) -> Catalog:
    """deepgrade formats with ``str.format`` only: a ``%`` in a message ("90% on held-out digits") is text, not
    a placeholder, so Babel's guess ``python-format`` (and its check, which rejects such a message) is dropped."""
    for message in catalog:
        message.flags.discard("python-format")
    return catalog


def update() -> None:
    """Merge the .pot into each language's .po (new msgids come with an empty msgstr: translate them; the
    English catalog's msgstr is its msgid)."""
    for lang in LANGUAGES:
        action = "update" if po_path(lang).exists() else "init"
        # no fuzzy matching: a guess from a similar message reads as a translation, and is often wrong
        fuzzy = ["--no-fuzzy-matching"] if action == "update" else []
        pybabel(action, "-D", "deepgrade", "-i", str(POT), "-d", str(LOCALE), "-l", lang, "-w", "120", *fuzzy)
        catalog = _brace_only(read(lang))
        catalog.project, catalog.version = "deepgrade", "0.1.0"
        catalog.header_comment = f"# deepgrade's messages in {lang} (scripts/catalogs.py; docs/architecture.md)."
        catalog.last_translator = catalog.language_team = "deepgrade"
        catalog.msgid_bugs_address = ""
        for message in catalog:
            if lang == "en" and message.id:
                message.string = message.id
        with po_path(lang).open("wb") as f:
            write_po(f, catalog, width=120, ignore_obsolete=True)


def compile_all() -> None:
    """Each .po into its .mo.  Entries that are empty or fuzzy are left out, as msgfmt does (and
    tests/test_i18n.py fails on them)."""
    for lang in LANGUAGES:
        catalog = _brace_only(read(lang))
        with (LOCALE / lang / "LC_MESSAGES" / "deepgrade.mo").open("wb") as f:
            write_mo(f, catalog)


if __name__ == "__main__":
    commands = {"extract": extract, "update": update, "compile": compile_all}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(commands)}")
    commands[sys.argv[1]]()
