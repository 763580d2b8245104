"""Server-side drafts (issue 17, "nothing typed is lost"): a form posted after the session
expired is kept in the new session on the server, the browser is sent to sign in, and the
entries are submitted once, by the same user, when they come back to the page.

- The draft lives in the session store (the database), never in the browser: the cookie holds
  only the session id. Signing in keeps the anonymous session's data (Django cycles the key).
- Each form page carries a signed token naming the user who loaded it (``drafted_by``); a draft
  is submitted only when the user who signs in is that user, so someone else signing in on the
  same browser never submits (or sees) another person's entries. Tokens older than a day are
  not honoured.
- A draft is taken out of the session before it is submitted: it is submitted at most once,
  and the save it becomes carries the ``if_version`` the page was read at, so a save that
  already happened is refused ``conflict`` instead of being repeated.
"""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.http import HttpRequest, QueryDict

SALT = "combat_norse.web.drafts"
MAX_AGE_SECONDS = 24 * 3600
MAX_DRAFT_BYTES = 64 * 1024
_KEY = "combat_norse.drafts"


def author_token(user_id: int) -> str:
    """The hidden ``drafted_by`` value of a page loaded by ``user_id``."""
    return signing.dumps(user_id, salt=SALT)


def _author(token: str) -> int | None:
    try:
        value = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def keep(request: HttpRequest) -> bool:
    """Keep the posted entries of a signed-out request as a draft of its page; False when
    there is nothing to keep (no valid author token, or too large)."""
    author = _author(str(request.POST.get("drafted_by", "")))
    length = str(request.META.get("CONTENT_LENGTH") or "0")
    if author is None or not length.isdigit() or int(length) > MAX_DRAFT_BYTES:
        return False
    fields = {k: request.POST.getlist(k) for k in request.POST
              if k not in ("csrfmiddlewaretoken", "drafted_by")}  # fmt: skip
    drafts = dict(request.session.get(_KEY, {}))
    drafts[request.path] = {"author": author, "fields": fields}
    request.session[_KEY] = drafts
    return True


def take(request: HttpRequest, user_id: int) -> QueryDict | None:
    """The draft of this page written by ``user_id``, removed from the session (a draft of
    another user is dropped unseen); None when there is none."""
    drafts: dict[str, Any] = dict(request.session.get(_KEY, {}))
    found = drafts.pop(request.path, None)
    if found is None:
        return None
    request.session[_KEY] = drafts
    if found.get("author") != user_id:
        return None
    posted = QueryDict(mutable=True)
    for key, values in found.get("fields", {}).items():
        posted.setlist(str(key), [str(v) for v in values])
    return posted


# ------------------------------------------------------------------ autosave (lost connection)
# The form page posts its entries every few seconds while the user types (static/web/
# autosave.js) to the page's ``autosave/`` URL; they are kept here, in the session store on the
# server (never in the browser's storage), per page and per user. Reopening the page shows them
# again in the form (not submitted: the user saves them, once, with the version the page was
# read at); a successful save discards them.
_AUTOSAVE_KEY = "combat_norse.autosaves"
MAX_AUTOSAVES = 20


def autosave(request: HttpRequest, page_path: str, user_id: int,
             fields: dict[str, list[str]], saved_at: str) -> None:  # fmt: skip
    """Keep ``fields`` (item code -> typed values) as the autosaved entries of ``page_path``
    by ``user_id`` (the oldest of more than :data:`MAX_AUTOSAVES` pages is dropped)."""
    kept = dict(request.session.get(_AUTOSAVE_KEY, {}))
    kept.pop(page_path, None)
    kept[page_path] = {"author": user_id, "fields": fields, "saved_at": saved_at}
    while len(kept) > MAX_AUTOSAVES:
        kept.pop(next(iter(kept)))
    request.session[_AUTOSAVE_KEY] = kept


def autosaved(request: HttpRequest, page_path: str, user_id: int) -> dict[str, Any] | None:
    """The autosaved entries of ``page_path`` written by ``user_id`` (``fields`` as a
    QueryDict, ``saved_at``), left in place; None when there are none."""
    found = dict(request.session.get(_AUTOSAVE_KEY, {})).get(page_path)
    if not isinstance(found, dict) or found.get("author") != user_id:
        return None
    posted = QueryDict(mutable=True)
    for key, values in dict(found.get("fields", {})).items():
        posted.setlist(str(key), [str(v) for v in values])
    return {"fields": posted, "saved_at": str(found.get("saved_at", ""))}


def discard_autosave(request: HttpRequest, page_path: str) -> None:
    kept = dict(request.session.get(_AUTOSAVE_KEY, {}))
    if kept.pop(page_path, None) is not None:
        request.session[_AUTOSAVE_KEY] = kept
