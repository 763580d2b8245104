"""Print an example screening record moved to the present, for trying randomization.

The records in this folder have fixed dates, so by now they are past the 7-day limit (I5) and
``enroll`` puts them in the observational cohort. This shifts every date-time of
``screening-randomized.json`` (or the file given) by the same amount, so that it was evaluated
a minute ago and keeps its study day and FIRES window:

    .venv/bin/python examples/recent_record.py > var/record.json
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

DATETIME_FIELDS = ("se_onset", "evaluated_at", "febrile_illness_onset")


def moved_to_now(record: dict[str, object], now: datetime) -> dict[str, object]:
    """``record`` with its date-times shifted so that ``evaluated_at`` is a minute before now."""
    evaluated = datetime.fromisoformat(str(record["evaluated_at"]))
    shift = (now - timedelta(minutes=1)) - evaluated
    out = dict(record)
    for name in DATETIME_FIELDS:
        if isinstance(record.get(name), str):
            out[name] = (datetime.fromisoformat(str(record[name])) + shift).isoformat(
                timespec="seconds"
            )
    return out


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else Path(__file__).with_name("screening-randomized.json")
    record = json.loads(source.read_text(encoding="utf-8"))
    print(json.dumps(moved_to_now(record, datetime.now(UTC)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
