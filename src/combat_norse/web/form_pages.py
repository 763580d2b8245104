"""One generic page for any form of the catalog (crf/catalog.py): the inputs are generated
from the form's metadata (``FormDef``/``ItemDef``), the values come from ``present_form`` and a
save goes through ``do_save_form`` with ``if_version`` (the version the page was read at).

Nothing typed is lost: a value that does not parse, or that the action refuses, is shown again
with every other entry and the error next to its field; a save that meets a concurrent edit
(``refused: conflict``) shows the stored value beside the one typed, and the next save is made
against the new version on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, Reason, Refused, domain_error
from combat_norse.core.refusals import read_refusals_audited
from combat_norse.crf import catalog
from combat_norse.crf.access import access_form
from combat_norse.crf.actions.forms import (
    LOCK_ROLES,
    VERIFY_ROLES,
    do_lock_form,
    do_save_form,
    do_unlock_form,
    do_verify_form,
    form_def,
)
from combat_norse.crf.actions.queries import QUERY_ROLES
from combat_norse.crf.metadata import FormDef, ItemDef, ItemType
from combat_norse.crf.presenters import present_form, present_form_save, present_form_state
from combat_norse.participants.presenters import present_screening_clock
from combat_norse.sites.roles import PARTICIPANT_ROLES
from combat_norse.web import drafts, entry
from combat_norse.web.context import page_actor, page_scope
from combat_norse.web.errors import status_for
from combat_norse.web.policy import view_policy

KINDS = {ItemType.INTEGER: "integer", ItemType.DECIMAL: "number", ItemType.BOOLEAN: "yes_no",
         ItemType.DATE: "date", ItemType.DATETIME: "time", ItemType.TEXT: "textarea",
         ItemType.CHOICE: "choice", ItemType.MULTI: "multi"}  # fmt: skip


def _instance(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise BadInput("instance", "a positive whole number")
    return int(raw)


def _shown(item: ItemDef, value: Any, zone: str) -> Any:
    """A stored value as its input shows it."""
    if value is None:
        return [] if item.type is ItemType.MULTI else ""
    if item.type is ItemType.BOOLEAN:
        return "yes" if value else "no"
    if item.type is ItemType.DATETIME:
        return entry.as_local_input(str(value), zone)
    if item.type is ItemType.MULTI:
        return list(value)
    return str(value)


def _parsed(item: ItemDef, post: Any, zone: str) -> Any:
    """The posted text of ``item`` as the JSON value the action takes (None clears)."""
    code = item.code
    if item.type is ItemType.MULTI:
        chosen = [str(v) for v in post.getlist(code)]
        return chosen or None
    raw = str(post.get(code, ""))
    kind = item.type
    if kind is ItemType.INTEGER:
        value = entry.integer(code, raw)
    elif kind is ItemType.DECIMAL:
        value = entry.number(code, raw)
    elif kind is ItemType.BOOLEAN:
        value = entry.yes_no(code, raw)
    elif kind is ItemType.DATE:
        value = entry.a_date(code, raw)
    elif kind is ItemType.DATETIME:
        value = entry.local_time(code, raw, zone)
    else:
        value = entry.text(raw)
    return None if value is entry.ABSENT else value


def _typed(item: ItemDef, post: Any) -> Any:
    """What the user typed for ``item``, to show again as it was."""
    if item.type is ItemType.MULTI:
        return [str(v) for v in post.getlist(item.code)]
    return str(post.get(item.code, ""))


class FormPage:
    """The state of one form page: definition, participant, values, version."""

    def __init__(self, request: HttpRequest, study_id: str, visit: str, form_code: str) -> None:
        self.request = request
        self.scope = page_scope(request)
        self.visit = visit
        self.instance = _instance(request.GET.get("instance") or request.POST.get("instance"))
        latest = form_def(form_code)
        with read_refusals_audited(page_actor(request), AuditAction.READ_REFUSED):
            self.participant, found = access_form(self.scope, study_id, visit, latest,
                                                  self.instance)  # fmt: skip
        self.form: FormDef = catalog.form(latest.code, found.form_version) if found else latest
        self.shown = present_form(self.form, found, self.participant, self.scope)
        self.masked = self.scope.is_masked_at(self.participant.site_id)
        self.zone = str(present_screening_clock(self.participant.screening,
                                                timezone.now())["site_timezone"])
        self.study_id = self.participant.study_id
        self.autosave_key = reverse("web:form", args=[self.study_id, visit, latest.code]) + (
            f"?instance={self.instance}" if self.instance else "")

    @property
    def items(self) -> list[ItemDef]:
        """The items this reader sees and may send (never an arm-revealing one when masked:
        an item not shown is not sent, so it is never cleared by a masked save)."""
        return [i for i in self.form.items if not (self.masked and i.arm_revealing)]

    def fields(self, typed: Mapping[str, Any] | None = None, errors: Mapping[str, str] = {},
               theirs: Mapping[str, Any] = {}) -> list[dict[str, Any]]:  # fmt: skip
        values = self.shown["values"]
        language = get_language()
        out = []
        for item in self.items:
            value = typed[item.code] if typed is not None else _shown(item, values.get(
                item.code), self.zone)  # fmt: skip
            out.append({
                "name": item.code, "kind": KINDS[item.type], "label": item.label_in(language),
                "unit": item.unit, "help": item.help, "required": item.required,
                "value": value, "error": errors.get(item.code, ""),
                "choices": [(c, c.replace("_", " ")) for c in item.choices],
                "options": (("yes", _("Yes")), ("no", _("No")), ("unknown", _("Not known"))),
                "theirs": theirs.get(item.code),
            })  # fmt: skip
        return out

    def context(self, **extra: Any) -> dict[str, Any]:
        roles_here = self.scope.roles_at(self.participant.site_id)
        may_query = bool(roles_here & QUERY_ROLES)
        saved = self.shown["version"] > 0
        return {
            "study_id": self.study_id, "visit": self.visit, "form": self.form,
            "instance": self.instance, "shown": self.shown, "zone": self.zone,
            "fields": self.fields(), "if_version": self.shown["version"],
            "may_raise_query": may_query and saved,
            "may_verify": saved and bool(roles_here & VERIFY_ROLES),
            "may_lock": saved and bool(roles_here & LOCK_ROLES),
            "query_items": [(i.code, i.label_in(get_language())) for i in self.items],
            "title": self.form.title_in(get_language()),
            "notice": self.form.notice_in(get_language()),
            "drafted_by": drafts.author_token(page_actor(self.request).pk),
            "autosave_url": reverse("web:form_autosave",
                                    args=[self.study_id, self.visit, self.form.code]),
            **extra,
        }  # fmt: skip


@view_policy(roles=PARTICIPANT_ROLES, scoped_object=True, keeps_drafts=True)
def form_page(request: HttpRequest, study_id: str, visit: str, form: str) -> HttpResponse:
    """GET shows the form (and submits a draft kept when the session expired, once); POST
    saves it through ``do_save_form``."""
    page = FormPage(request, study_id, visit, form)
    if request.method == "POST" and request.POST.get("action") == "discard_autosave":
        drafts.discard_autosave(request, page.autosave_key)
        messages.info(request, _("The kept entries were discarded."))
        return HttpResponseRedirect(request.get_full_path())
    if request.method == "POST" and request.POST.get("action") in TRANSITIONS:
        return _transition(request, page, str(request.POST["action"]))
    if request.method == "POST":
        return _submit(request, page, request.POST)
    draft = drafts.take(request, page_actor(request).pk)
    if draft is not None:
        messages.info(request, _("You were signed out before your entries were saved: they "
                                 "are submitted now."))
        return _submit(request, page, draft)
    kept = drafts.autosaved(request, page.autosave_key, page_actor(request).pk)
    if kept is not None:  # entries typed before the connection was lost: shown, not submitted
        posted = kept["fields"]
        context = page.context(restored_at=kept["saved_at"])
        context["fields"] = page.fields({i.code: _typed(i, posted) for i in page.items})
        context["if_version"] = posted.get("if_version", page.shown["version"])
        context["reason"] = posted.get("reason", "")
        return render(request, "web/pages/form.html", context)
    return render(request, "web/pages/form.html", page.context())


@view_policy(roles=PARTICIPANT_ROLES, scoped_object=True)
def autosave(request: HttpRequest, study_id: str, visit: str, form: str) -> HttpResponse:
    """POST: keep the form page's entries as typed in a server-side draft (the page's script
    sends them every few seconds while the user types), answering ``{"kept": true, ...}``;
    GET: whether entries are kept for this page. The reader's access to the form is checked
    as for the page itself; only the items the reader sees are kept."""
    page = FormPage(request, study_id, visit, form)
    user_id = page_actor(request).pk
    if request.method == "POST":
        length = str(request.META.get("CONTENT_LENGTH") or "0")
        if not length.isdigit() or int(length) > drafts.MAX_DRAFT_BYTES:
            return JsonResponse({"code": "bad_input", "field": "body",
                                 "detail": "too large"}, status=400)  # fmt: skip
        names = [i.code for i in page.items] + ["if_version", "reason"]
        fields = {n: [str(v)[:5000] for v in request.POST.getlist(n)][:50] for n in names
                  if n in request.POST}  # fmt: skip
        saved_at = timezone.now().isoformat()
        drafts.autosave(request, page.autosave_key, user_id, fields, saved_at)
        return JsonResponse({"kept": True, "saved_at": saved_at})
    kept = drafts.autosaved(request, page.autosave_key, user_id)
    return JsonResponse({"kept": kept is not None,
                         "saved_at": kept["saved_at"] if kept else None})  # fmt: skip


TRANSITIONS = ("verify", "lock", "unlock")


def _transition(request: HttpRequest, page: FormPage, action: str) -> HttpResponse:
    """Source data verified (monitor), lock and unlock with a reason (data manager)."""
    actor = page_actor(request)
    args = (actor, page.study_id, page.visit, page.form.code)
    try:
        if action == "verify":
            found = do_verify_form(*args, instance=page.instance)
        elif action == "lock":
            found = do_lock_form(*args, instance=page.instance)
        else:
            found = do_unlock_form(*args, reason=str(request.POST.get("reason", "")),
                                   instance=page.instance)  # fmt: skip
    except (BadInput, Refused) as exc:
        if isinstance(exc, Refused) and exc.code is Reason.OTHER_SITE:
            raise
        text = exc.text if isinstance(exc, Refused) else str(exc)
        return render(request, "web/pages/form.html", page.context(
            refused=text if isinstance(exc, Refused) else "", problem="" if isinstance(
                exc, Refused) else text, has_errors=True), status=status_for(exc))  # fmt: skip
    state = present_form_state(found)
    messages.success(request, _("Form %(status)s, SDV %(sdv)s.") % {
        "status": state["status"].replace("_", " "), "sdv": state["sdv"].replace("_", " ")})
    return HttpResponseRedirect(request.get_full_path())


def _submit(request: HttpRequest, page: FormPage, post: Any) -> HttpResponse:
    typed = {i.code: _typed(i, post) for i in page.items}
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    for item in page.items:
        try:
            data[item.code] = _parsed(item, post, page.zone)
        except entry.EntryError as exc:
            errors[item.code] = exc.message
    if_version = entry.integer("if_version", str(post.get("if_version", "")))
    reason = str(post.get("reason", ""))
    if errors:
        return _again(request, page, post, typed, errors, status=400)
    try:
        saved, queries = do_save_form(
            page_actor(request), page.study_id, page.visit, page.form.code, data,
            instance=page.instance, reason=reason,
            if_version=None if if_version is entry.ABSENT else if_version)
    except Exception as exc:
        err = domain_error(exc)
        if isinstance(err, BadInput):
            if err.field in typed:
                return _again(request, page, post, typed, {err.field: err.message}, status=400)
            return _again(request, page, post, typed, {}, problem=str(err), status=400)
        if isinstance(err, Refused) and err.code is Reason.CONFLICT:
            return _conflict(request, page, post, typed, err)
        if isinstance(err, Refused) and err.code is not Reason.OTHER_SITE:
            errors = {"reason": err.text} if err.code is Reason.REASON_REQUIRED else {}
            return _again(request, page, post, typed, errors, refused=err.text,
                          status=status_for(err), reason=reason)  # fmt: skip
        raise
    drafts.discard_autosave(request, page.autosave_key)  # saved: the kept entries are done
    shown = present_form_save(saved, queries, page.scope)
    messages.success(request, _("Saved: version %(version)s, %(status)s.") % {
        "version": shown["version"], "status": shown["status"].replace("_", " ")})  # fmt: skip
    for q in shown["queries"]:
        messages.warning(request, _("Query on %(item)s: %(text)s") % q)
    target = request.path + (f"?instance={shown['instance']}"
                             if catalog.form(shown["form"]).repeating else "")  # fmt: skip
    return HttpResponseRedirect(target)


def _again(request: HttpRequest, page: FormPage, post: Any, typed: Mapping[str, Any],
           errors: Mapping[str, str], *, status: int, problem: str = "", refused: str = "",
           reason: str = "") -> HttpResponse:  # fmt: skip
    context = page.context(problem=problem, refused=refused, reason=reason,
                           reason_error=errors.get("reason", ""), has_errors=True)  # fmt: skip
    context["fields"] = page.fields(typed, errors)
    context["if_version"] = post.get("if_version", page.shown["version"])
    return render(request, "web/pages/form.html", context, status=status)


def _conflict(request: HttpRequest, page: FormPage, post: Any, typed: Mapping[str, Any],
              err: Refused) -> HttpResponse:  # fmt: skip
    """Someone saved in between: the page was re-read above (``page.shown`` is the stored
    state now); show their value beside each entry that differs, keep the typed ones, and
    let the next save go against the new version."""
    fresh = FormPage(request, page.study_id, page.visit, page.form.code)
    stored = fresh.fields()
    theirs = {}
    for field in stored:
        if field["value"] != typed.get(field["name"]):
            value = field["value"]
            theirs[field["name"]] = ", ".join(value) if isinstance(value, list) else (
                value or _("(empty)"))  # fmt: skip
    context = fresh.context(refused=err.text, conflict=True, has_errors=True,
                            reason=str(post.get("reason", "")))  # fmt: skip
    context["fields"] = fresh.fields(typed, {}, theirs)
    return render(request, "web/pages/form.html", context, status=status_for(err))
