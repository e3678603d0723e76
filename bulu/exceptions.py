"""The domain errors. Their messages are user-facing Chinese text.

`ApplicationError` is what a user did wrong or what the rules refuse: the page says why and
nothing changes. `AccessDenied` is the one kind of it that means "this person may not": it
becomes 403 (`bulu.web.DomainErrorMiddleware`), never a message on someone else's object.
"""

from __future__ import annotations


class ApplicationError(Exception):
    def __init__(self, message: str, *, extra: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class AccessDenied(ApplicationError):
    """The actor may not do this to this object (answered with 403)."""
