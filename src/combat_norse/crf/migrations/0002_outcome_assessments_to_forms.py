"""Copy the rows of ``participants.OutcomeAssessment`` (a hard-coded mRS form, issue 15) into
outcome form instances of data capture, before ``participants`` 0003 deletes the model.

On a fresh database there is nothing to copy. Otherwise each row becomes a complete instance of
its instrument's form (version 1) at its visit (created if it is an event visit not yet there):
``{<instrument>: score, "assessed_on": the assessment's local date}``, with its assessor, its
``assessed_unmasked`` flag, and its row history copied (the actor and reason of each change),
plus one history row naming the move. A row that cannot be copied faithfully (an instrument or
visit the forms do not have, a score outside the form's range, an instance already there) stops
the migration naming it, rather than losing or bending data.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from django.db import migrations
from django.utils import timezone

OUTCOME_VISITS = ("discharge", "day30", "month3", "month6", "month12", "annual_N")
# instrument → (score range, visit kinds), frozen here as the forms' version 1 declared them
INSTRUMENTS: dict[str, tuple[int, int, tuple[str, ...]]] = {
    "mrs": (0, 6, OUTCOME_VISITS),
    "gose": (1, 8, OUTCOME_VISITS),
    "gose_peds": (1, 8, OUTCOME_VISITS),
    "pcpc": (1, 6, OUTCOME_VISITS),
    "moca": (0, 30, ("month12",)),
}
_N = re.compile(r"^annual_\d{1,3}$")
MOVED = "moved from participants.OutcomeAssessment (issue 15)"


def _fingerprint(form: str) -> str | None:
    try:
        from combat_norse.crf import catalog

        return catalog.form(form, 1).fingerprint()
    except (ImportError, KeyError):  # pragma: no cover - the catalog always has them
        return None


def copy_rows(apps: Any, schema_editor: Any) -> None:
    Outcome = apps.get_model("participants", "OutcomeAssessment")
    HistoricalOutcome = apps.get_model("participants", "HistoricalOutcomeAssessment")
    Visit = apps.get_model("crf", "Visit")
    HistoricalVisit = apps.get_model("crf", "HistoricalVisit")
    FormInstance = apps.get_model("crf", "FormInstance")
    HistoricalFormInstance = apps.get_model("crf", "HistoricalFormInstance")
    Seal = apps.get_model("crf", "FormVersionSeal")
    db = schema_editor.connection.alias
    now = timezone.now()
    for row in Outcome._default_manager.using(db).select_related(
        "participant__site", "participant__screening"
    ).order_by("id"):
        where = f"OutcomeAssessment {row.pk} ({row.participant.study_id} {row.visit})"
        if row.instrument not in INSTRUMENTS:
            raise RuntimeError(f"{where}: no form for instrument {row.instrument!r}")
        low, high, kinds = INSTRUMENTS[row.instrument]
        kind = "annual_N" if _N.match(row.visit) else row.visit
        if kind not in kinds:
            raise RuntimeError(f"{where}: form {row.instrument} is not collected at {row.visit}")
        if not low <= row.score <= high:
            raise RuntimeError(f"{where}: score {row.score} outside {low}–{high}")
        p = row.participant
        zone = ZoneInfo(str((p.screening.record or {}).get("site_timezone") or p.site.timezone))

        def values(score: int, at: Any, *, zone: ZoneInfo = zone, item: str = row.instrument
                   ) -> dict[str, Any]:  # fmt: skip
            return {item: score, "assessed_on": at.astimezone(zone).date().isoformat()}

        visit = Visit._default_manager.using(db).filter(participant=p, code=row.visit).first()
        if visit is None:
            visit = Visit._default_manager.using(db).create(participant=p, code=row.visit, status="done")
            HistoricalVisit._default_manager.using(db).create(
                id=visit.pk, participant=p, code=visit.code, status=visit.status,
                missed_reason="", history_date=now, history_type="+", history_user=None,
                history_change_reason=MOVED,
            )  # fmt: skip
        if FormInstance._default_manager.using(db).filter(visit=visit, form=row.instrument).exists():
            raise RuntimeError(f"{where}: the {row.instrument} form already holds data there")
        found = FormInstance._default_manager.using(db).create(
            participant=p, visit=visit, form=row.instrument, form_version=1, number=1,
            values=values(row.score, row.assessed_at), status="complete", sdv="not_verified",
            version=1, assessed_by_id=row.assessed_by_id,
            assessed_unmasked=row.assessed_unmasked, saved_at=row.assessed_at,
            saved_by_id=row.assessed_by_id,
        )  # fmt: skip
        past = list(HistoricalOutcome._default_manager.using(db).filter(id=row.pk)
                    .order_by("history_date", "history_id"))  # fmt: skip
        for h in past:
            HistoricalFormInstance._default_manager.using(db).create(
                id=found.pk, participant=p, visit_id=visit.pk, form=row.instrument,
                form_version=1, number=1, values=values(h.score, h.assessed_at),
                status="complete", sdv="not_verified", version=1,
                assessed_by_id=h.assessed_by_id, assessed_unmasked=h.assessed_unmasked,
                saved_at=h.assessed_at, saved_by_id=h.assessed_by_id,
                history_date=h.history_date, history_type=h.history_type,
                history_user_id=h.history_user_id, history_change_reason=h.history_change_reason,
            )  # fmt: skip
        HistoricalFormInstance._default_manager.using(db).create(
            id=found.pk, participant=p, visit_id=visit.pk, form=row.instrument, form_version=1,
            number=1, values=found.values, status="complete", sdv="not_verified", version=1,
            assessed_by_id=row.assessed_by_id, assessed_unmasked=row.assessed_unmasked,
            saved_at=row.assessed_at, saved_by_id=row.assessed_by_id, history_date=now,
            history_type="~" if past else "+", history_user=None, history_change_reason=MOVED,
        )  # fmt: skip
        fingerprint = _fingerprint(row.instrument)
        if fingerprint is not None:
            Seal._default_manager.using(db).get_or_create(
                form=row.instrument, version=1,
                defaults={"fingerprint": fingerprint, "first_used_at": row.assessed_at},
            )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("crf", "0001_initial"),
        ("participants", "0002_historicalassessorassignment_and_more"),
    ]

    operations = [migrations.RunPython(copy_rows, migrations.RunPython.noop, elidable=True)]
