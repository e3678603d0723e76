"""The load generator of `make bench-load`: locust used as a library, in a process of its own.

    python bench/load/drive.py CONFIG.json  -> one JSON line on stdout

Locust patches the standard library for gevent as it is imported, so this never runs inside the
Django process. Only loopback hosts are accepted. Every simulated user logs in once through the
login form (on_start); the statistics are reset once every user has logged in and a short warm-up
has passed, so logins never count. Each run is bounded in time and stops by itself.

Modes:
- "steady": for each page in turn, `users` users with zero think time for `seconds`;
- "rush": a mix of students, approvers and center staff with `think` seconds between requests.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import resource
import sys
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import gevent
from locust import FastHttpUser, between, constant, task
from locust.env import Environment

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LOGIN_FORM = 'name="password"'
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class BenchUser(FastHttpUser):
    """Logs in once; `visit` fetches a page and fails it if the login form comes back."""

    abstract = True
    host = ""
    password = ""
    accounts: Any = None  # an iterator of {"username": ..., "paths": [[label, path], ...]}
    logged_in = 0

    def on_start(self) -> None:
        account = next(self.accounts)
        self.paths: list[list[str]] = account["paths"]
        page = self.client.get("/login/", name="login")
        found = CSRF.search(page.text or "")
        body = urlencode(
            {
                "username": account["username"],
                "password": self.password,
                "csrfmiddlewaretoken": found.group(1) if found else "",
            }
        )
        with self.client.post(
            "/login/",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            name="login",
            catch_response=True,
        ) as done:
            if LOGIN_FORM in (done.text or ""):
                done.failure(f"login failed for {account['username']}")
                raise RuntimeError(f"login failed for {account['username']}")
        BenchUser.logged_in += 1

    def visit(self, label: str, path: str) -> None:
        with self.client.get(path, name=label, catch_response=True) as response:
            if response.status_code == 200 and LOGIN_FORM in (response.text or ""):
                response.failure("answered with the login form")


def _cycle(accounts: list[dict[str, Any]]) -> Any:
    return itertools.cycle(accounts)


def _run(
    env: Environment, users: int, spawn_rate: float, seconds: float, warmup: float
) -> dict[str, Any]:
    """Spawn, wait for every login and the warm-up, reset, measure `seconds`, stop."""
    runner = env.create_local_runner()
    BenchUser.logged_in = 0
    runner.start(users, spawn_rate=spawn_rate)
    deadline = time.monotonic() + 60
    while BenchUser.logged_in < users and time.monotonic() < deadline:
        gevent.sleep(0.1)
    if BenchUser.logged_in < users:
        runner.quit()
        raise SystemExit(f"only {BenchUser.logged_in} of {users} users logged in")
    gevent.sleep(warmup)
    env.stats.reset_all()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    gevent.sleep(seconds)
    elapsed = time.monotonic() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    pages: dict[str, dict[str, Any]] = {}
    for (name, _method), entry in env.stats.entries.items():
        if name == "login":
            continue
        pages[name] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "rps": entry.num_requests / elapsed,
            "p50": entry.get_response_time_percentile(0.5),
            "p95": entry.get_response_time_percentile(0.95),
            "p99": entry.get_response_time_percentile(0.99),
            "max": entry.max_response_time,
            "avg": entry.avg_response_time,
        }
    errors = [
        {"name": e.name, "error": str(e.error)[:200], "count": e.occurrences}
        for e in env.stats.errors.values()
    ]
    runner.quit()
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return {"seconds": elapsed, "pages": pages, "errors": errors, "generator_cpu": cpu / elapsed}


def steady(config: dict[str, Any]) -> list[dict[str, Any]]:
    results = []
    for page in config["pages"]:
        accounts = [{"username": u, "paths": [[page["label"], p]]} for u, p in page["accounts"]]

        class PageUser(BenchUser):
            wait_time = constant(0)

            @task
            def hit(self) -> None:
                label, path = self.paths[0]
                self.visit(label, path)

        PageUser.host = config["host"]
        PageUser.password = config["password"]
        PageUser.accounts = _cycle(accounts)
        env = Environment(user_classes=[PageUser])
        outcome = _run(env, config["users"], config["users"], config["seconds"], config["warmup"])
        stats = outcome["pages"].get(page["label"], {"requests": 0, "failures": 0, "rps": 0.0})
        results.append({"label": page["label"], **stats, **_extra(outcome)})
    return results


def _extra(outcome: dict[str, Any]) -> dict[str, Any]:
    return {"generator_cpu": outcome["generator_cpu"], "errors": outcome["errors"]}


def rush(config: dict[str, Any]) -> dict[str, Any]:
    low, high = config["think"]
    rng = random.Random(11)

    def role(name: str, weight: int, accounts: list[dict[str, Any]]) -> type[BenchUser]:
        def browse(self: BenchUser) -> None:
            label, path = rng.choice(self.paths)
            self.visit(label, path)

        cls = type(
            name,
            (BenchUser,),
            {
                "weight": weight,
                "wait_time": between(low, high),
                "tasks": [browse],
                "host": config["host"],
                "password": config["password"],
                "accounts": _cycle(accounts),
            },
        )
        return cls

    classes = [
        role(name, weight, accounts) for name, weight, accounts in config["roles"] if accounts
    ]
    env = Environment(user_classes=classes)  # type: ignore[arg-type]
    return _run(env, config["users"], config["spawn_rate"], config["seconds"], config["warmup"])


def main() -> None:
    config = json.loads(open(sys.argv[1], encoding="utf-8").read())  # noqa: SIM115
    if urlsplit(config["host"]).hostname not in LOOPBACK:
        raise SystemExit("the load bench only targets a server on this machine's loopback")
    output = steady(config) if config["mode"] == "steady" else rush(config)
    print(json.dumps(output, ensure_ascii=False))


if __name__ == "__main__":
    main()
