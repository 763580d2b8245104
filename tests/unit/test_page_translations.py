"""The pages ship in English, French, Italian, Korean and Swedish (issue 17): every message of
each language's catalogue is translated, none is a msgmerge guess (fuzzy), each keeps the
placeholders of its English source, and the compiled catalogue Django reads answers them.

A page string added without a translation fails here once ``makemessages`` has put it in the
catalogues (README "Languages")."""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "src" / "combat_norse" / "web" / "locale"
LANGUAGES = ("fr", "it", "ko", "sv")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd0-9]*[sd]|%[sd]")


@dataclass
class Entry:
    msgid: str
    plural: str | None
    strings: list[str]
    fuzzy: bool


def _unquote(text: str) -> str:
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def entries(po: Path) -> list[Entry]:
    """The catalogue's entries (not the header), read from the .po text."""
    found: list[Entry] = []
    for block in po.read_text(encoding="utf-8").split("\n\n")[1:]:
        fields: dict[str, str] = {}
        current = ""
        fuzzy = False
        for line in block.splitlines():
            if line.startswith("#,"):
                fuzzy = "fuzzy" in line
            if line.startswith("#"):
                continue
            key, _, rest = line.partition(" ")
            if line.startswith('"'):
                fields[current] += _unquote(line[1:-1])
            else:
                current = key
                fields[current] = _unquote(rest[1:-1])
        if "msgid" not in fields:
            continue
        strings = [v for k, v in fields.items() if k.startswith("msgstr")]
        found.append(Entry(fields["msgid"], fields.get("msgid_plural"), strings, fuzzy))
    return found


@pytest.mark.req("#17")
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_message_is_translated_with_its_placeholders(language: str) -> None:
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    catalogue = entries(po)
    assert len(catalogue) > 200  # the pages' messages, not an empty file
    untranslated = [e.msgid for e in catalogue if not all(e.strings)]
    guessed = [e.msgid for e in catalogue if e.fuzzy]
    assert not untranslated, f"{language}: {len(untranslated)} untranslated: {untranslated[:5]}"
    assert not guessed, f"{language}: fuzzy (msgmerge's guess, not shown): {guessed[:5]}"
    for e in catalogue:
        want = sorted(PLACEHOLDER.findall(e.msgid))
        for text in e.strings:
            assert sorted(PLACEHOLDER.findall(text)) == want, f"{language}: {e.msgid!r} -> {text!r}"


@pytest.mark.req("#17")
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_answers_what_the_text_catalogue_says(language: str) -> None:
    """The committed .mo (what Django reads; running needs no gettext) is not older than the .po."""
    directory = LOCALE / language / "LC_MESSAGES"
    with (directory / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for e in entries(directory / "django.po"):
        if e.plural is None:
            assert compiled.gettext(e.msgid) == e.strings[0], f"{language}: recompile ({e.msgid!r})"
        else:
            assert compiled.ngettext(e.msgid, e.plural, 1) == e.strings[0]
