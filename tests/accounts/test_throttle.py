"""Login throttling: one account+address after 8 failures, one address over many accounts."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User

PASSWORD = "right-password-1"


def _user(username: str) -> User:
    return User.objects.create_user(username=username, password=PASSWORD, name="某人")


@pytest.fixture
def axes_on(settings: object) -> None:
    settings.AXES_ENABLED = True  # type: ignore[attr-defined]
    settings.BULU_LOGIN_FAILURES_PER_ACCOUNT = 3  # type: ignore[attr-defined]
    settings.BULU_LOGIN_FAILURES_PER_ADDRESS = 5  # type: ignore[attr-defined]


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.7") -> int:
    response = client.post(
        reverse("login"),
        {"username": username, "password": password},
        secure=True,
        REMOTE_ADDR=ip,
    )
    return response.status_code


def test_it_locks_one_account_after_its_failures(db: None, axes_on: None) -> None:
    _user("T9001")
    client = Client()
    assert _login(client, "T9001", "wrong") == 200
    assert _login(client, "T9001", "wrong") == 200
    assert _login(client, "T9001", "wrong") == 429  # the third failure locks (axes: >= limit)
    # Locked: the right password no longer helps from this address.
    assert _login(client, "T9001", PASSWORD) == 429
    # Another account from the same address still logs in (2 more failures allowed there).
    _user("T9002")
    assert _login(Client(), "T9002", PASSWORD) == 302


def test_it_locks_an_address_that_tries_many_accounts(db: None, axes_on: None) -> None:
    users: list[User] = []
    for n in range(4):
        user = _user(f"S900{n}")
        users.append(user)
    client = Client()
    # Two failures on each of two accounts: no account reaches its limit of 3 ...
    for user in users[:2]:
        assert _login(client, user.username, "wrong") == 200
        assert _login(client, user.username, "wrong") == 200
    # ... but the fifth failure of the address, on a third account, reaches the address's limit,
    assert _login(client, users[2].username, "wrong") == 429
    # and then even an untouched account's right password is refused from that address.
    assert _login(Client(), users[3].username, PASSWORD) == 429
    # Another address is not affected.
    assert _login(Client(), users[3].username, PASSWORD, ip="10.0.0.8") == 302


def test_it_counts_each_client_behind_the_proxy_apart(
    db: None, axes_on: None, settings: object
) -> None:
    """Behind nginx every request comes from 127.0.0.1: the address is the X-Real-IP header."""
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_REAL_IP"  # type: ignore[attr-defined]
    users = [_user(f"P900{n}") for n in range(3)]

    def login(username: str, password: str, client_ip: str) -> int:
        response = Client().post(
            reverse("login"),
            {"username": username, "password": password},
            secure=True,
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_REAL_IP=client_ip,
        )
        return response.status_code

    for user in users[:2]:
        assert login(user.username, "wrong", "10.1.0.1") == 200
        assert login(user.username, "wrong", "10.1.0.1") == 200
    assert login(users[2].username, "wrong", "10.1.0.1") == 429  # that client's fifth failure
    # Another student behind the same proxy logs in: the proxy's own address is not the count.
    assert login(users[2].username, PASSWORD, "10.1.0.2") == 302
    # A header that is no address falls back to REMOTE_ADDR (never stored as garbage).
    assert login(users[2].username, "wrong", "not-an-ip") == 200
    from axes.models import AccessAttempt

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {
        "10.1.0.1",
        "127.0.0.1",
    }
