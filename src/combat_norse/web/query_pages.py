"""Data queries (§14): the list the reader may see, and raise / answer / close / reopen, each
through the same action as ``combat-norse query ...`` (crf/actions/queries.py)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from combat_norse.core.errors import BadInput, NotFound, Refused
from combat_norse.crf.access import access_queries
from combat_norse.crf.actions.queries import (
    ANSWER_ROLES,
    QUERY_ROLES,
    do_answer_query,
    do_close_query,
    do_raise_query,
    do_reopen_query,
)
from combat_norse.crf.presenters import present_queries, present_query_state
from combat_norse.sites.roles import PARTICIPANT_ROLES
from combat_norse.web.context import page_actor, page_scope
from combat_norse.web.errors import status_for
from combat_norse.web.form_pages import _instance
from combat_norse.web.policy import view_policy

STATUSES = ("open", "answered", "closed")


def _query_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12 or int(raw) < 1:
        raise BadInput("id", "a query id is a positive whole number")
    return int(raw)


def _change(request: HttpRequest) -> tuple[int, str]:
    actor = page_actor(request)
    post = request.POST
    action = post.get("action", "")
    text = str(post.get("text", "")).strip() or None
    if action == "raise":
        query = do_raise_query(
            actor, str(post.get("study_id", "")), str(post.get("visit", "")),
            str(post.get("form", "")), str(post.get("item", "")), text=text or "",
            instance=_instance(post.get("instance")))
    elif action in ("answer", "close", "reopen"):
        change = {"answer": do_answer_query, "close": do_close_query,
                  "reopen": do_reopen_query}[action]  # fmt: skip
        query = change(actor, _query_id(str(post.get("id", ""))), text=text)
    else:
        raise BadInput("action", "unknown action")
    shown = present_query_state(query)
    return int(shown["id"]), _("Query #%(id)s is now %(status)s.") % shown


def _card(request: HttpRequest, query_id: int, *, done: str = "", error: str = "",
          status: int = 200) -> HttpResponse:  # fmt: skip
    """One query's card, for htmx to put in place of the old one (read back through
    ``access_queries`` and ``present_queries``, like the list)."""
    scope = page_scope(request)
    found = list(access_queries(scope).filter(pk=query_id))
    if not found:
        return HttpResponse(status=204)
    row = present_queries(found, scope)["queries"][0]
    return render(request, "web/query_card.html", {
        "q": row, "card_done": done, "card_error": error,
        "may_answer": scope.has_role(ANSWER_ROLES), "may_close": scope.has_role(QUERY_ROLES),
    }, status=status)  # fmt: skip


BULK_ACTIONS = ("answer", "close")
BULK_LIMIT = 200


def _bulk(request: HttpRequest) -> tuple[list[dict[str, str]], int]:
    """``bulk_action`` (answer or close) on each selected query with one text: each change
    through the same per-query action (and its own audit event) as a single change; each
    query's outcome is reported, a refusal of one does not stop the others. The status: 200
    when every change was made, else the first failure's (403 when one was another site's)."""
    actor = page_actor(request)
    action = str(request.POST.get("bulk_action", ""))
    if action not in BULK_ACTIONS:
        raise BadInput("bulk_action", "answer or close")
    raw_ids = [str(v) for v in request.POST.getlist("ids")]
    if not raw_ids:
        raise BadInput("ids", "select at least one query")
    if len(raw_ids) > BULK_LIMIT:
        raise BadInput("ids", f"at most {BULK_LIMIT} queries at once")
    text = str(request.POST.get("text", "")).strip() or None
    change = {"answer": do_answer_query, "close": do_close_query}[action]
    results, statuses = [], []
    for raw in dict.fromkeys(raw_ids):  # each id once, in the order given
        try:
            query = change(actor, _query_id(raw), text=text)
        except (BadInput, NotFound, Refused) as exc:
            statuses.append(status_for(exc))
            results.append({"id": raw[:12], "ok": "", "text": (
                f"refused: {exc.text}" if isinstance(exc, Refused) else str(exc))})
            continue
        shown = present_query_state(query)
        results.append({"id": str(shown["id"]), "ok": "yes",
                        "text": _("now %(status)s") % shown})  # fmt: skip
    status = 200
    if statuses:
        status = 403 if 403 in statuses else statuses[0]
    return results, status


@view_policy(roles=PARTICIPANT_ROLES)
def queries(request: HttpRequest) -> HttpResponse:
    """The queries the reader may see (open ones first by default); POST changes one."""
    scope = page_scope(request)
    error, status = "", 200
    bulk: list[dict[str, str]] = []
    if request.method == "POST" and "bulk_action" in request.POST:
        try:
            bulk, status = _bulk(request)
        except BadInput as exc:
            error, status = str(exc), status_for(exc)
    elif request.method == "POST":
        partial = bool(getattr(request, "htmx", False)) and request.POST.get("action") != "raise"
        try:
            query_id, done = _change(request)
        except (BadInput, Refused) as exc:
            if isinstance(exc, Refused) and exc.code.value == "other_site":
                raise
            error = f"refused: {exc.text}" if isinstance(exc, Refused) else str(exc)
            status = status_for(exc)
            raw_id = str(request.POST.get("id", ""))
            if partial and raw_id.isdigit() and len(raw_id) <= 12:
                return _card(request, int(raw_id), error=error, status=status)
        else:
            if partial:  # htmx: only this query's card changes
                return _card(request, query_id, done=done)
            messages.success(request, done)
            return HttpResponseRedirect(reverse("web:queries"))
    wanted = request.GET.get("status", "open")
    wanted = wanted if wanted in STATUSES else ""
    found = access_queries(scope, status=wanted or None)
    rows = present_queries(found[:500], scope)["queries"]
    return render(request, "web/pages/queries.html", {
        "rows": rows, "status": wanted, "statuses": STATUSES, "error": error, "bulk": bulk,
        "bulk_done": sum(1 for r in bulk if r["ok"]), "bulk_failed": sum(1 for r in bulk
                                                                          if not r["ok"]),
        "may_answer": scope.has_role(ANSWER_ROLES), "may_close": scope.has_role(QUERY_ROLES),
    }, status=status)  # fmt: skip
