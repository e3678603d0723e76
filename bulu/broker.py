"""The Redis broker transport: kombu's, with one fix so a worker survives the broker going away.

With kombu 5.7 a worker stopped for good ("Unrecoverable error: AttributeError: 'NoneType'
object has no attribute 'hostname'") when Redis shut down while the worker was waiting for
messages (BRPOP) and had a message not yet acknowledged (a late-acked task still running on a
second pool process): the consumer's cleanup first closes the channel, whose pending BRPOP read
raises ConnectionError before the channel is marked closed, then drops the transport; the second
close tries to give the unacknowledged messages back, asks for a Redis client of a connection
that no longer has its URL, and fails with AttributeError, which is not a connection error, so
Celery stops the worker instead of reconnecting (found by `make bench-faults`; reproduced in
tests/jobs/test_broker_outage.py).

Here a channel whose connection is gone says so with a ConnectionError, which every caller treats
as the broker being unreachable: the close completes, the worker reconnects once Redis is back,
and the unacknowledged message stays in Redis's unacked set until its visibility timeout (the
outbox's token makes its late redelivery do nothing). Settings select this transport for a
`redis://` or `rediss://` broker (CELERY_BROKER_TRANSPORT).
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:  # the connection was closed: no URL to connect to
            raise RedisConnectionError("the broker connection is closed")
        params: dict[str, Any] = super()._connparams(asynchronous)  # type: ignore[misc]
        return params


class Transport(kombu_redis.Transport):
    Channel = Channel
