"""Write the pages' translations (web/locale/translations.py) into each language's django.po.

Run after ``makemessages --no-wrap`` (see README "Languages"); then ``compilemessages``. A
plural message takes its singular's entry, ``"one||other"`` (Korean has one form: no ``||``).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[1] / "src" / "combat_norse" / "web" / "locale"
LANGUAGES = ("fr", "it", "ko", "sv")
_TEXT = r'(?:[^"\\]|\\.)+'
#: one single-line entry (``makemessages --no-wrap``), singular or plural, with its flags and
#: msgmerge's previous msgid (``#|``) when it guessed
ENTRY = re.compile(
    rf'^(?P<flags>#, [^\n]*\n)?(?:#\| [^\n]*\n)*msgid "(?P<id>{_TEXT})"\n'
    rf'(?:msgid_plural "(?P<pl>{_TEXT})"\n(?:msgstr\[\d\] ".*"\n)+|msgstr ".*"\n)',
    flags=re.M,
)


def _table() -> dict[str, tuple[str, str, str, str]]:
    spec = importlib.util.spec_from_file_location("translations", LOCALE / "translations.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot read {LOCALE / 'translations.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.PAGES)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def main() -> None:
    table = _table()
    for index, language in enumerate(LANGUAGES):
        po = LOCALE / language / "LC_MESSAGES" / "django.po"
        source = po.read_text(encoding="utf-8")

        def fill(match: re.Match[str]) -> str:
            flags, msgid_text, plural = match.group("flags"), match.group("id"), match.group("pl")
            found = table.get(msgid_text.replace('\\"', '"').replace("\\\\", "\\"))
            if found is None:
                return match.group(0)
            # a filled entry is ours, not msgmerge's guess: drop its fuzzy flag and old msgid
            kept = [f for f in (flags or "").removeprefix("#,").strip().split(", ")
                    if f and f != "fuzzy"]  # fmt: skip
            lines = [f"#, {', '.join(kept)}"] if kept else []
            lines.append(f'msgid "{msgid_text}"')
            if plural is None:
                lines.append(f'msgstr "{_quote(found[index])}"')  # noqa: B023
            else:
                lines.append(f'msgid_plural "{plural}"')
                forms = found[index].split("||")  # noqa: B023
                lines += [f'msgstr[{n}] "{_quote(form)}"' for n, form in enumerate(forms)]
            return "\n".join(lines) + "\n"

        header, _, entries = source.partition("\n\n")
        header = header.replace("#, fuzzy\n", "")  # the header is ours, not a guess
        source = header + "\n\n" + ENTRY.sub(fill, entries)
        po.write_text(source, encoding="utf-8")


if __name__ == "__main__":
    main()
