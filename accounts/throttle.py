"""Login throttling beside django-axes: one account+address, and one address across accounts.

django-axes counts failures per (username, address) and compares the largest count with a single
limit. An address that tries a few passwords on each of hundreds of accounts never reaches it, so
the limit is computed per request: once the address's failures within the cool-off period reach
`BULU_LOGIN_FAILURES_PER_ADDRESS`, the limit becomes 0 and every attempt from it is refused (the
correct password of an untouched account included) until the period ends. The count is read from
axes's own table, so it holds with Redis down and across web processes.

Behind nginx every request comes from the proxy (127.0.0.1 or a unix socket): `client_address`
(AXES_CLIENT_IP_CALLABLE) reads the client's address from the header the proxy sets, the one
`RATELIMIT_IP_META_KEY` names (HTTP_X_REAL_IP), as the verification page's rate limit does.
Without it one campus-wide count would lock everyone out after 40 failures (docs/deploy.md).
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone


def client_address(request: HttpRequest) -> str | None:
    """The client's address: the proxy's header when RATELIMIT_IP_META_KEY names one and it holds
    an address, else REMOTE_ADDR (a request that did not come through the proxy)."""
    key = settings.RATELIMIT_IP_META_KEY
    forwarded = str(request.META.get(key, "")).strip() if key else ""
    if forwarded:
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or None


def address_failures(ip_address: str) -> int:
    """Failed logins from one address within the cool-off period, over every account."""
    since = timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME)
    total = AccessAttempt.objects.filter(ip_address=ip_address, attempt_time__gte=since).aggregate(
        total=Sum("failures_since_start")
    )["total"]
    return int(total or 0)


def failure_limit(request: HttpRequest, credentials: dict[str, Any] | None) -> int:
    """AXES_FAILURE_LIMIT: the per-account limit, or 0 once the address has failed too often."""
    ip_address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
    if ip_address and address_failures(ip_address) >= settings.BULU_LOGIN_FAILURES_PER_ADDRESS:
        return 0
    return int(settings.BULU_LOGIN_FAILURES_PER_ACCOUNT)
