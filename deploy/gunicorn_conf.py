"""gunicorn settings for bulu-web.service (docs/deploy.md): a config file, not command-line flags,
so the worker count can follow the machine. gunicorn reads this with `-c`.

The socket comes from systemd (bulu-web.socket, LISTEN_FDS); without systemd, BULU_WEB_BIND says
where to listen (e.g. unix:/run/bulu-web.sock or 127.0.0.1:8001).
"""

from __future__ import annotations

import multiprocessing
import os

wsgi_app = "bulu.wsgi:application"
if os.environ.get("BULU_WEB_BIND"):
    bind = [os.environ["BULU_WEB_BIND"]]
# Sync workers, 2 per core plus one (gunicorn's rule of thumb; bench/load measured 3 on 2 cores).
workers = int(os.environ.get("BULU_WEB_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
# A PDF rendered inside a request (a download before the worker made it) may take
# BULU_PDF_WEB_TIMEOUT (30 s): the worker timeout leaves room for it.
timeout = 60
graceful_timeout = 30
# Recycle workers now and then (a long-lived process's memory only grows).
max_requests = 2000
max_requests_jitter = 200
# Logs to stdout/stderr: journald keeps them (journalctl -u bulu-web).
accesslog = "-"
errorlog = "-"
loglevel = "info"
# Client address in the access log: nginx's X-Real-IP (the peer is nginx itself).
access_log_format = '%({x-real-ip}i)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
# gunicorn 24+ opens a control socket under $HOME by default; the service user has no home of use.
control_socket_disable = True
