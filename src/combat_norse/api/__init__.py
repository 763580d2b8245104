"""The REST API (issue 18): one more face over the same ``access_*``/``do_*`` and presenters as
the command line and the pages. Each route answers the JSON object the matching command prints
(so the command line can be a thin client of it), and a shared error as the one table in
:mod:`combat_norse.core.http` says, with ``{"code", "detail", "field"}``."""
