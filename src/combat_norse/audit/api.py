"""Writing the audit trail: :func:`record_event`, :func:`audited_save`, :func:`audited_delete`.

Every ``do_*`` action of the other apps writes through these inside its own
``transaction.atomic()`` block, so the change and its event commit or roll back together
(DESIGN.md principle 5)::

    with transaction.atomic():
        audited_save(consent, actor=user, action=AuditAction.CONSENT,
                     site_code=site.code, participant_ref=screening.screening_id)

One state change writes its row (and the rows it touches), their history with the actor, and ONE
event whose ``action`` is a member of the closed vocabulary :class:`AuditAction`. Whether a
reason is required is the record's state rule, decided by the action before it writes; the
write functions only record the reason they are given.

Concurrency. Appending takes no lock that other writers share (issue 19): the event is one
INSERT in the caller's transaction; the database numbers it (``seq``, an identity column) and,
on PostgreSQL, stamps the writing transaction's id (``xid``). The sealer
(:mod:`combat_norse.audit.seal`) later orders committed events by ``(xid, seq)`` below the
oldest running transaction and puts them into the Merkle tree; until then the append-only
triggers protect them. Take your own row locks (``select_for_update``) before writing events,
as before; on SQLite transactions are serialized anyway (``transaction_mode = IMMEDIATE``).

Identifiers. ``participant_ref`` is a study id or screening id, never a name or a date of birth;
values of fields that hold secrets (``password``) are written as ``"<redacted>"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol, TypeAlias, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, router
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from combat_norse.audit.chain import compute_event_hash
from combat_norse.audit.context import current_operator
from combat_norse.audit.exceptions import ReasonRequired, TransactionRequired
from combat_norse.audit.history import has_history, history_reason_limit
from combat_norse.audit.models import AuditEvent
from combat_norse.audit.vocabulary import AuditAction, audit_action

REDACTED = "<redacted>"
REDACTED_FIELDS: frozenset[str] = frozenset({"password"})

_LIMITS = {  # field -> max length, checked here so SQLite refuses what PostgreSQL would
    "actor_username": 150,
    "operator": 150,
    "object_type": 100,
    "object_id": 64,
    "site_code": 16,
    "participant_ref": 32,
}



class SystemActor:
    """The system itself (clocks, background tasks): recorded as ``system``, no user id."""

    username = "system"

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = SystemActor()

Actor: TypeAlias = AbstractBaseUser | AnonymousUser | SystemActor | None


class AuditScoped(Protocol):
    """Optional hook of an audited model: where the row belongs, for filtering the trail."""

    def audit_scope(self) -> tuple[str | None, str | None]:
        """Return ``(site_code, participant_ref)``."""
        ...


class AuditJSONEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder plus the field values it does not know (files, bytes, sets)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, FieldFile):
            return o.name or None
        if isinstance(o, bytes | bytearray | memoryview):
            import hashlib

            return "sha256:" + hashlib.sha256(bytes(o)).hexdigest()
        if isinstance(o, set | frozenset):
            return sorted(o, key=repr)
        if isinstance(o, models.Model):
            return o.pk
        return super().default(o)


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (strings for dates, decimals, UUIDs), as it will be stored."""
    return json.loads(json.dumps(value, cls=AuditJSONEncoder, allow_nan=False))


def _actor_fields(actor: Actor) -> tuple[int | None, str]:
    if isinstance(actor, SystemActor):
        return None, actor.username
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, ""
    user = cast(AbstractBaseUser, actor)
    return user.pk, user.get_username()


def _now() -> datetime:
    """The event time: the application's clock, in UTC (one seam for tests)."""
    return timezone.now()


SUPPORTED_VENDORS = frozenset({"postgresql", "sqlite"})


def record_event(
    *,
    actor: Actor,
    action: AuditAction | str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    changes: dict[str, Any] | None = None,
    reason: str = "",
    site_code: str | None = None,
    participant_ref: str | None = None,
) -> AuditEvent:
    """Append one event to the trail and return it (one INSERT, no shared lock).

    Must run inside the caller's ``transaction.atomic()`` (else :class:`TransactionRequired`).
    ``obj`` gives ``object_type`` (``app_label.Model``) and ``object_id`` (its pk), and, if the
    model defines ``audit_scope()``, the defaults of ``site_code`` and ``participant_ref``.
    ``action`` must be in :class:`AuditAction` (ValueError otherwise). ``actor`` :data:`SYSTEM`
    records the system; None (or anonymous) an unauthenticated request, or, on the command line,
    the operating-system user (:mod:`combat_norse.audit.context`), who is also stored as
    ``operator`` of an event with an actor. ``changes`` maps a field to
    ``[old, new]``; values are stored as JSON (dates and decimals as strings).
    """
    using = router.db_for_write(AuditEvent)
    connection = connections[using]
    if not connection.in_atomic_block:
        raise TransactionRequired(
            "record_event() must be called inside transaction.atomic(), with the change it records"
        )
    if connection.vendor not in SUPPORTED_VENDORS:
        raise ImproperlyConfigured(f"audit trail: unsupported database {connection.vendor}")
    action = audit_action(action)
    if obj is not None:
        if obj.pk is None:
            raise ValueError("record_event(obj=...) needs a saved object (it has no primary key)")
        object_type = object_type or obj._meta.label
        object_id = obj.pk if object_id is None else object_id
        scope = getattr(obj, "audit_scope", None)
        if callable(scope) and (site_code is None or participant_ref is None):
            scope_site, scope_participant = scope()
            site_code = scope_site if site_code is None else site_code
            participant_ref = scope_participant if participant_ref is None else participant_ref
    actor_id, actor_username = _actor_fields(actor)
    operator = current_operator()
    if operator and not actor_username:  # the command line without --as: the OS user acted
        actor_username, operator = operator, ""
    values: dict[str, Any] = {
        "actor_id": actor_id,
        "actor_username": actor_username,
        "operator": operator,
        "action": action.value,
        "object_type": object_type or "",
        "object_id": "" if object_id is None else str(object_id),
        "site_code": site_code or "",
        "participant_ref": participant_ref or "",
        "changes": to_jsonable(changes or {}),
        "reason": reason or "",
    }
    if not isinstance(values["changes"], dict):
        raise TypeError("changes must be a mapping of field -> [old, new]")
    for name, limit in _LIMITS.items():
        if len(values[name]) > limit:
            raise ValueError(f"audit {name} longer than {limit} characters")

    event = AuditEvent(occurred_at=_now(), prev_hash="", **values)
    event.hash = compute_event_hash(event.hashed_fields())
    event._append(using)
    return event


def _require_reason(reason: str, what: str) -> str:
    if not reason or not reason.strip():
        raise ReasonRequired(f"a reason is required to {what} data already saved")
    return reason.strip()


def _field_values(
    instance: models.Model, fields: Iterable[models.Field[Any, Any]]
) -> dict[str, Any]:
    return {f.attname: f.value_from_object(instance) for f in fields}


def _audited_fields(
    instance: models.Model, update_fields: Iterable[str] | None
) -> list[models.Field[Any, Any]]:
    fields = [f for f in instance._meta.concrete_fields if not f.primary_key]
    if update_fields is not None:
        wanted = set(update_fields)
        fields = [f for f in fields if f.name in wanted or f.attname in wanted]
    return fields


def _shown(field: models.Field[Any, Any], value: Any, redact: frozenset[str]) -> Any:
    if value is not None and (field.name in redact or field.attname in redact):
        return REDACTED
    return to_jsonable(value)


def _coerce(field: models.Field[Any, Any], value: Any) -> Any:
    try:
        return field.to_python(value)
    except Exception:  # an invalid value counts as a change; save() will judge it
        return value


@contextmanager
def _history_context(instance: models.Model, actor: Actor, reason: str) -> Iterator[None]:
    """Hand actor and reason to django-simple-history for the model's historical row."""
    if not has_history(type(instance)):
        yield
        return
    if not isinstance(actor, SystemActor) and getattr(actor, "is_authenticated", False):
        instance._history_user = actor  # type: ignore[attr-defined]
    if reason:
        limit = history_reason_limit(type(instance))
        instance._change_reason = reason if limit is None else reason[:limit]  # type: ignore[attr-defined]
    try:
        yield
    finally:  # a later plain save() must not inherit this actor or reason
        for attr in ("_history_user", "_change_reason"):
            instance.__dict__.pop(attr, None)


def audited_save(
    instance: models.Model,
    *,
    actor: Actor,
    action: AuditAction | str,
    reason: str = "",
    site_code: str | None = None,
    participant_ref: str | None = None,
    update_fields: Iterable[str] | None = None,
    redact: Iterable[str] = (),
    extra_changes: dict[str, Any] | None = None,
) -> AuditEvent | None:
    """Save ``instance`` (its history row carries ``actor`` and ``reason``) and record ONE
    ``action`` event with the old → new values (``extra_changes`` adds what the action changed
    elsewhere, e.g. a list slot used by an allocation).

    Whether ``reason`` is required is the caller's state rule, checked before this call. The old
    values are read from the database row, locked with ``select_for_update``. An update that
    changes nothing saves nothing and returns ``None``. Call inside ``transaction.atomic()``.
    """
    action = audit_action(action)
    using = instance._state.db or router.db_for_write(type(instance), instance=instance)
    if not connections[using].in_atomic_block:
        raise TransactionRequired("audited_save() must be called inside transaction.atomic()")
    hidden = REDACTED_FIELDS | frozenset(redact)
    manager = type(instance)._base_manager.using(using)
    reason = (reason or "").strip()

    if instance._state.adding:
        with _history_context(instance, actor, reason):
            instance.save(using=using, force_insert=True)
        changes = {
            f.attname: [None, _shown(f, f.value_from_object(instance), hidden)]
            for f in _audited_fields(instance, None)
        }
        changes.update(extra_changes or {})
        return record_event(
            actor=actor, action=action, obj=instance, changes=changes, reason=reason,
            site_code=site_code, participant_ref=participant_ref,
        )  # fmt: skip

    fields = _audited_fields(instance, update_fields)
    old = manager.select_for_update(no_key=True).get(pk=instance.pk)
    before = _field_values(old, fields)
    if all(_coerce(f, f.value_from_object(instance)) == before[f.attname] for f in fields):
        return None
    with _history_context(instance, actor, reason):
        instance.save(using=using, update_fields=update_fields)
    changes = {}
    for f in fields:
        new = _coerce(f, f.value_from_object(instance))
        if new != before[f.attname]:
            changes[f.attname] = [_shown(f, before[f.attname], hidden), _shown(f, new, hidden)]
    changes.update(extra_changes or {})
    return record_event(
        actor=actor, action=action, obj=instance, changes=changes, reason=reason,
        site_code=site_code, participant_ref=participant_ref,
    )  # fmt: skip


def save_with_history(
    instance: models.Model,
    *,
    actor: Actor,
    reason: str = "",
    update_fields: Iterable[str] | None = None,
) -> None:
    """Save a row that a state change touches besides its main record (a list slot taken by an
    allocation): its history carries the actor; the change's one event is written by
    :func:`audited_save` or :func:`record_event` of the main record."""
    using = instance._state.db or router.db_for_write(type(instance), instance=instance)
    if not connections[using].in_atomic_block:
        raise TransactionRequired("save_with_history() must be called inside transaction.atomic()")
    with _history_context(instance, actor, (reason or "").strip()):
        if instance._state.adding:
            instance.save(using=using, force_insert=True)
        else:
            instance.save(using=using, update_fields=update_fields)


def audited_delete(
    instance: models.Model,
    *,
    actor: Actor,
    reason: str,
    site_code: str | None = None,
    participant_ref: str | None = None,
    redact: Iterable[str] = (),
) -> AuditEvent:
    """Delete ``instance`` and record ``delete`` with its last values; ``reason`` is required.

    Only ``instance`` is audited: trial-data models point at each other with ``PROTECT``, so a
    delete cannot silently cascade to other trial data. Call inside ``transaction.atomic()``.
    """
    using = instance._state.db or router.db_for_write(type(instance), instance=instance)
    if not connections[using].in_atomic_block:
        raise TransactionRequired("audited_delete() must be called inside transaction.atomic()")
    reason = _require_reason(reason, "delete")
    if instance.pk is None:
        raise ValueError("audited_delete() needs a saved object (it has no primary key)")
    hidden = REDACTED_FIELDS | frozenset(redact)
    fields = _audited_fields(instance, None)
    old = type(instance)._base_manager.using(using).select_for_update().get(pk=instance.pk)
    changes = {f.attname: [_shown(f, f.value_from_object(old), hidden), None] for f in fields}
    object_type, object_id = instance._meta.label, str(instance.pk)
    scope = getattr(instance, "audit_scope", None)
    if callable(scope) and (site_code is None or participant_ref is None):
        scope_site, scope_participant = scope()
        site_code = scope_site if site_code is None else site_code
        participant_ref = scope_participant if participant_ref is None else participant_ref
    with _history_context(instance, actor, reason):
        instance.delete(using=using)
    return record_event(
        actor=actor, action=AuditAction.DELETE, object_type=object_type, object_id=object_id,
        changes=changes, reason=reason, site_code=site_code, participant_ref=participant_ref,
    )  # fmt: skip
