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
import os
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


def _ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (0 if it is gone)."""
    try:
        fields = open(f"/proc/{pid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _backends(db: str) -> list[int]:
    """PostgreSQL backends serving the bench database (their process titles name it)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            title = open(f"/proc/{entry}/cmdline", "rb").read()  # noqa: SIM115
        except OSError:
            continue
        if title.startswith(b"postgres: ") and f" {db} ".encode() in title:
            found.append(int(entry))
    return found


def _machine_busy() -> int:
    """Ticks all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    values = [int(v) for v in open("/proc/stat", encoding="ascii").readline().split()[1:]]  # noqa: SIM115
    return sum(values) - values[3] - values[4]


class Cpu:
    """CPU used during a window: by the server (gunicorn workers and their PostgreSQL
    backends), by this generator, and by everything else on the machine."""

    def __init__(self, pids: list[int], db: str) -> None:
        self.pids, self.db = pids, db

    def start(self) -> None:
        self.backends = _backends(self.db)
        self.server = {p: _ticks(p) for p in [*self.pids, *self.backends]}
        self.machine = _machine_busy()
        self.own = resource.getrusage(resource.RUSAGE_SELF)
        self.at = time.monotonic()

    def stop(self) -> dict[str, float]:
        hz = os.sysconf("SC_CLK_TCK")
        elapsed = time.monotonic() - self.at
        # A process that went away during the window is not counted (`_ticks` gives 0).
        server = sum(max(_ticks(p) - t, 0) for p, t in self.server.items()) / hz
        own1 = resource.getrusage(resource.RUSAGE_SELF)
        own = (own1.ru_utime + own1.ru_stime) - (self.own.ru_utime + self.own.ru_stime)
        machine = (_machine_busy() - self.machine) / hz
        return {
            "server_cpu_s": server,
            "generator_cpu": own / elapsed,
            "others_cores": max(machine - server - own, 0.0) / elapsed,
            "backends": len(self.backends),
        }


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


def _run(env: Environment, config: dict[str, Any], users: int, spawn_rate: float) -> dict[str, Any]:
    """Spawn, wait for every login and the warm-up, reset, measure `seconds`, stop."""
    runner = env.create_local_runner()
    BenchUser.logged_in = 0
    runner.start(users, spawn_rate=spawn_rate)
    # Steady runs need every user; in the rush a login still waiting after the timeout is part of
    # the finding (reported), and the measurement goes ahead with the users who got in.
    deadline = time.monotonic() + config.get("login_timeout", 60)
    while BenchUser.logged_in < users and time.monotonic() < deadline:
        gevent.sleep(0.1)
    logged_in = BenchUser.logged_in
    if logged_in == 0 or (config["mode"] == "steady" and logged_in < users):
        runner.quit()
        raise SystemExit(f"only {logged_in} of {users} users logged in")
    gevent.sleep(config["warmup"])
    env.stats.reset_all()
    cpu = Cpu(config["server_pids"], config["db"])
    cpu.start()
    started = time.monotonic()
    gevent.sleep(config["seconds"])
    elapsed = time.monotonic() - started
    used = cpu.stop()
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
    total = sum(p["requests"] for p in pages.values())
    return {
        "seconds": elapsed,
        "users": users,
        "logged_in": logged_in,
        "pages": pages,
        "errors": errors,
        "server_cpu_ms": 1000 * used["server_cpu_s"] / total if total else None,
        **used,
    }


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
        outcome = _run(env, config, config["users"], config["users"])
        stats = outcome["pages"].get(page["label"], {"requests": 0, "failures": 0, "rps": 0.0})
        results.append({"label": page["label"], **stats, **_extra(outcome)})
    return results


def _extra(outcome: dict[str, Any]) -> dict[str, Any]:
    keys = ("generator_cpu", "errors", "server_cpu_ms", "others_cores", "backends")
    return {k: outcome[k] for k in keys}


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
    return _run(env, config, config["users"], config["spawn_rate"])


def main() -> None:
    config = json.loads(open(sys.argv[1], encoding="utf-8").read())  # noqa: SIM115
    if urlsplit(config["host"]).hostname not in LOOPBACK:
        raise SystemExit("the load bench only targets a server on this machine's loopback")
    output = steady(config) if config["mode"] == "steady" else rush(config)
    print(json.dumps(output, ensure_ascii=False))


if __name__ == "__main__":
    main()
