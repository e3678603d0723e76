"""What every `make bench` script shares: writing its own section of docs/benchmarks.md."""

from __future__ import annotations

import os
import re
import resource
from pathlib import Path


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
                print(f"created the database {name}", flush=True)
    finally:
        connection.close()
