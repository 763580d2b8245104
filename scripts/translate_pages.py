"""Write the pages' translations (web/locale/translations.py) into each language's django.po.

Run after ``makemessages`` (see README "Languages"); then ``compilemessages``. Only
single-line message ids are filled; the others stay in English until translated by hand.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[1] / "src" / "combat_norse" / "web" / "locale"
LANGUAGES = ("fr", "it", "ko", "sv")


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
            msgid = match.group(1).replace('\\"', '"').replace("\\\\", "\\")
            found = table.get(msgid)
            if found is None:
                return match.group(0)
            return f'msgid "{match.group(1)}"\nmsgstr "{_quote(found[index])}"\n'  # noqa: B023

        source = re.sub(r'^msgid "((?:[^"\\]|\\.)+)"\nmsgstr ".*"\n', fill, source, flags=re.M)
        source = source.replace("#, fuzzy\n", "", 1)  # the header is ours, not a guess
        po.write_text(source, encoding="utf-8")


if __name__ == "__main__":
    main()
