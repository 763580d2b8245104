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
