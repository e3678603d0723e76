"""The app's own addresses as others reach it: printed in PDFs (QR code, 核验 link) and by
`demo_logins`.

Always the configured `BULU_PUBLIC_URL` (the app's root, with its sub-path if served under one),
never the address a request came in on: the worker renders without a request, a stored PDF must not
depend on who asked for it first, and a Host header is the client's to choose. Without the
setting, the address `make run` serves (see bulu/settings.py).
"""

from __future__ import annotations

from django.conf import settings
from django.urls import get_script_prefix, reverse


def public_url(name: str, *args: object) -> str:
    """The page `name` at the configured address, the same in a web request (under any script
    prefix) and in the worker."""
    path = reverse(name, args=args)
    prefix = get_script_prefix()
    if path.startswith(prefix):
        path = path[len(prefix) :]
    return settings.BULU_PUBLIC_URL.rstrip("/") + "/" + path.lstrip("/")
