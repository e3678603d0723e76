"""A Redis cache that keeps answering while Redis is down.

The verification page's rate limit (django-ratelimit) counts in Redis so that every process
shares one count. When Redis is unreachable the count falls back to this process's memory: the
page keeps answering and its limit still holds per process. After a failure Redis is not asked
again for `RETRY_SECONDS`, so a dead broker costs one short connect timeout, not one per request.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_SECONDS = 30.0
TIMEOUT_SECONDS = 0.3


class FallbackRedisCache(RedisCache):
    """Redis, or this process's memory while Redis does not answer."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        options.setdefault("socket_connect_timeout", TIMEOUT_SECONDS)
        options.setdefault("socket_timeout", TIMEOUT_SECONDS)
        super().__init__(server, {**params, "OPTIONS": options})
        self.fallback = LocMemCache(f"fallback-{server}", {**params, "OPTIONS": {}})
        self.down_until = 0.0

    def _either(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() >= self.down_until:
            try:
                return getattr(super(), name)(*args, **kwargs)
            except (RedisError, OSError) as exc:
                self.down_until = time.monotonic() + RETRY_SECONDS
                logger.warning("cache: Redis unreachable (%s); counting in memory for now", exc)
        return getattr(self.fallback, name)(*args, **kwargs)

    def add(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> bool:
        return bool(self._either("add", key, value, timeout, version))

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._either("get", key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> None:
        self._either("set", key, value, timeout, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return int(self._either("incr", key, delta, version))

    def delete(self, key: Any, version: int | None = None) -> bool:
        return bool(self._either("delete", key, version))
