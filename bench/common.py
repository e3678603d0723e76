"""What every `make bench` script shares: writing its own section of docs/benchmarks.md, and
the scratch PostgreSQL database they measure on.

`python bench/common.py` prints that database's URL (creating it when missing), or nothing when
no PostgreSQL server can be reached: the Makefile hands it to every script as
BENCH_DATABASE_URL.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

# The scratch database on the local server when BENCH_DATABASE_URL is not given (libpq's
# PGUSER, PGHOST and PGPORT are honoured). It is filled with fake students and requests; never
# the project's own database.
LOCAL_SCRATCH = "bulu_bench"


def write_section(path: Path, section: str) -> None:
    """Replace (or append) the section whose heading is `section`'s first line; other sections
    stay as they are."""
    heading = section.split("\n", 1)[0]
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section.rstrip("\n") + "\n\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def machine_busy_s() -> float | None:
    """CPU seconds all cores spent busy since boot (/proc/stat), or None without /proc."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds of this process and of the children it has waited for."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def database_ensure(url: str) -> None:
    """Create the scratch PostgreSQL database if it is not there yet (a fresh machine has none);
    any other URL is left alone."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg2
    from psycopg2 import sql

    parts = url.split("?", 1)[0].rsplit("/", 1)
    name = parts[1]
    connection = psycopg2.connect(parts[0] + "/postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"created the database {name}", file=sys.stderr, flush=True)
    finally:
        connection.close()


def _local_url() -> str:
    user = os.environ.get("PGUSER", "postgres")
    host = os.environ.get("PGHOST", "127.0.0.1")
    port = os.environ.get("PGPORT", "5432")
    return f"postgres://{user}@{host}:{port}/{LOCAL_SCRATCH}"


def _server_up(url: str) -> bool:
    import psycopg2

    try:
        psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
    except psycopg2.OperationalError:
        return False
    return True


def _server_start() -> bool:
    """Start the local clusters that are installed but down (Debian's pg_ctlcluster, as root or
    the postgres user); True if one was started."""
    if shutil.which("pg_lsclusters") is None or shutil.which("pg_ctlcluster") is None:
        return False
    listed = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=False)
    started = False
    for line in listed.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[3] == "down":
            done = subprocess.run(
                ["pg_ctlcluster", fields[0], fields[1], "start"], capture_output=True, check=False
            )
            started = started or done.returncode == 0
    return started


def bench_database_url() -> str:
    """BENCH_DATABASE_URL; else the scratch database on the local PostgreSQL server, started if
    it is installed but down and created if missing; else "" (the benches then use SQLite)."""
    given = os.environ.get("BENCH_DATABASE_URL", "")
    if given:
        database_ensure(given)
        return given
    url = _local_url()
    if not _server_up(url):
        if not _server_start():
            return ""
        for _attempt in range(20):
            if _server_up(url):
                break
            time.sleep(0.5)
        else:
            return ""
    database_ensure(url)
    return url


def database_label(url: str) -> str:
    """The database a table was measured on, as its section says it."""
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        return "SQLite (temporary file)"
    import psycopg2

    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = str(cursor.fetchone()[0]).split()[0]
    connection.close()
    return f"PostgreSQL {version}"


if __name__ == "__main__":
    print(bench_database_url())
    sys.exit(0)


def free_port() -> int:
    """A TCP port on loopback nobody listens on (for a server the bench starts)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run_checked(cmd: list[str], env: dict[str, str], *, cwd: Path, timeout: float) -> str:
    """Run a command of the bench; its output, or stop the bench with the end of its log."""
    done = subprocess.run(
        cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return done.stdout
