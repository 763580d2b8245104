"""Data queries raised, answered, closed and reopened by hand (§14).

Life cycle: ``open`` → ``answered`` (the site team of the participant's site) → ``closed``
(data manager or monitor, from ``open`` or ``answered``); ``reopen`` (data manager or monitor)
takes an answered or closed query back to ``open``. A rule's query (``origin`` rule) opens and
closes itself on save (:func:`combat_norse.crf.actions.forms._sync_queries`); a person may still
answer, close or reopen it, and a reopened rule query closes itself again once the data pass.

Every change goes through :func:`_change`: one transaction, the query's row saved with history,
the text kept as a :class:`~combat_norse.crf.models.QueryMessage`, and ONE audit event
(``query_open`` for a raise, ``query_answer``, ``query_close``, ``query_reopen``); a refusal
writes nothing but the ``<verb>_refused`` event (a record of another site is refused ``other
site`` before any role check). Text is checked before anything else: blank (where text is
required), over :data:`MAX_QUERY_TEXT` characters or with control characters is bad input.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from combat_norse.audit.api import audited_save, save_with_history
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, NotFound, Reason, Refused, shown
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.crf import catalog
from combat_norse.crf.actions.forms import form_def
from combat_norse.crf.models import (
    DataQuery,
    FormInstance,
    QueryMessage,
    QueryMessageKind,
    QueryOrigin,
    QueryStatus,
    Visit,
)
from combat_norse.participants.lookups import participant_by_study_id
from combat_norse.participants.models import Participant
from combat_norse.sites.access import AccessDenied, Scope, scope_for
from combat_norse.sites.roles import Role

QUERY_ROLES = frozenset({Role.DATA_MANAGER, Role.MONITOR})  # raise, close, reopen
ANSWER_ROLES = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR})  # the site team
MAX_QUERY_TEXT = 2000

# verb -> (audit action, roles, statuses it starts from, status it leads to, message kind)
_TRANSITIONS: dict[str, tuple[AuditAction, frozenset[str], frozenset[str], str, str]] = {
    "answer": (AuditAction.QUERY_ANSWER, ANSWER_ROLES, frozenset({QueryStatus.OPEN}),
               QueryStatus.ANSWERED, QueryMessageKind.ANSWER),
    "close": (AuditAction.QUERY_CLOSE, QUERY_ROLES,
              frozenset({QueryStatus.OPEN, QueryStatus.ANSWERED}), QueryStatus.CLOSED,
              QueryMessageKind.CLOSE),
    "reopen": (AuditAction.QUERY_REOPEN, QUERY_ROLES,
               frozenset({QueryStatus.ANSWERED, QueryStatus.CLOSED}), QueryStatus.OPEN,
               QueryMessageKind.REOPEN),
}  # fmt: skip


def clean_text(text: str | None, *, required: bool) -> str:
    """``text`` stripped; BadInput when blank (and required, or given at all), too long, or
    holding control characters other than newline and tab."""
    if text is None:
        if required:
            raise BadInput("text", "required: say what the query is about")
        return ""
    cleaned = text.strip()
    if not cleaned:
        raise BadInput("text", "empty: give the text, or leave --text out" if not required
                       else "required: say what the query is about")  # fmt: skip
    if len(cleaned) > MAX_QUERY_TEXT:
        raise BadInput("text", f"at most {MAX_QUERY_TEXT} characters, got {len(cleaned)}")
    if any((ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127 for ch in cleaned):
        raise BadInput("text", "control characters are not allowed")
    return cleaned


def _refuse_masked(scope: Scope, participant: Participant, form_code: str, item: str) -> None:
    """A masked actor never touches a query on an arm-revealing form or item."""
    if not scope.is_masked_at(participant.site_id):
        return
    form = catalog.LATEST.get(form_code)
    if form is None or form.arm_revealing or (
        item in form.item_map and form.item_map[item].arm_revealing
    ):
        raise AccessDenied(Reason.MASKED)


def do_raise_query(
    actor: User,
    participant: Participant | str,
    visit_code: str,
    form_code: str,
    item: str,
    *,
    text: str,
    instance: int | None = None,
) -> DataQuery:
    """Raise a manual query on an item of a saved form instance (data manager or monitor)."""
    text = clean_text(text, required=True)
    form = form_def(form_code)
    if item not in form.item_map:
        raise BadInput("item", f"{shown(item)} is not an item of form {form.code}")
    participant = participant_by_study_id(participant)
    with refusals_audited(actor, Attempt.on(AuditAction.QUERY_OPEN, participant)), \
            transaction.atomic():  # fmt: skip
        scope = scope_for(actor)  # one read of the memberships for both checks
        scope.require(participant.site_id, roles=QUERY_ROLES, action="raise a query")
        _refuse_masked(scope, participant, form.code, item)
        visit = Visit.unscoped.filter(participant=participant, code=visit_code).first()
        found = (
            FormInstance.unscoped.filter(visit=visit, form=form.code, number=instance or 1).first()
            if visit is not None else None
        )  # fmt: skip
        if found is None:
            where = f"{form.code}" + (f" instance {instance}" if instance else "")
            raise BadInput("form", f"no saved {where} at visit {shown(visit_code)}")
        if item not in catalog.form(found.form, found.form_version).item_map:
            raise BadInput("item", f"{shown(item)} is not an item of {form.code} "
                           f"version {found.form_version}")  # fmt: skip
        query = DataQuery(form_instance=found, item=item, origin=QueryOrigin.MANUAL,
                          status=QueryStatus.OPEN, text=text, opened_at=timezone.now(),
                          opened_by=actor)  # fmt: skip
        audited_save(query, actor=actor, action=AuditAction.QUERY_OPEN)
    return query


def _query(query_id: int | str) -> DataQuery:
    """The query by id, for an action (the action checks site and role); NotFound otherwise."""
    raw = str(query_id).strip()
    if not raw.isdigit() or len(raw) > 12:
        raise BadInput("id", f"a query id is a positive whole number, got {shown(raw)}")
    related = ("form_instance__participant__site", "form_instance__visit")
    found = DataQuery.unscoped.select_related(*related).filter(pk=int(raw)).first()
    if found is None:
        raise NotFound("id", f"query {shown(raw)}")
    return found


def _change(actor: User, query_id: int | str, verb: str, text: str | None) -> DataQuery:
    """The one path of answer, close and reopen (see the module docstring)."""
    action, roles, sources, target, kind = _TRANSITIONS[verb]
    cleaned = clean_text(text, required=False)
    query = _query(query_id)
    participant = query.form_instance.participant
    with refusals_audited(actor, Attempt.on(action, query)), transaction.atomic():
        scope = scope_for(actor)
        scope.require(participant.site_id, roles=roles, action=f"{verb} a query")
        _refuse_masked(scope, participant, query.form_instance.form, query.item)
        query = DataQuery.unscoped.select_for_update(no_key=True).select_related(
            "form_instance__participant__site").get(pk=query.pk)  # fmt: skip
        if query.status not in sources:
            raise Refused.state(f"the query is {query.status}: cannot {verb} it")
        now = timezone.now()
        query.status = target
        query.closed_at = now if target == QueryStatus.CLOSED else None
        extra = {}
        if cleaned:
            message = QueryMessage(query=query, kind=kind, text=cleaned, author=actor, at=now)
            save_with_history(message, actor=actor)
            extra = {"message": [None, cleaned]}
        audited_save(query, actor=actor, action=action, update_fields=["status", "closed_at"],
                     extra_changes=extra)  # fmt: skip
    return query


def do_answer_query(actor: User, query_id: int | str, *, text: str | None = None) -> DataQuery:
    """The site team answers an open query (open → answered)."""
    return _change(actor, query_id, "answer", text)


def do_close_query(actor: User, query_id: int | str, *, text: str | None = None) -> DataQuery:
    """A data manager or monitor closes an open or answered query (a rule's query too)."""
    return _change(actor, query_id, "close", text)


def do_reopen_query(actor: User, query_id: int | str, *, text: str | None = None) -> DataQuery:
    """A data manager or monitor opens an answered or closed query again."""
    return _change(actor, query_id, "reopen", text)
