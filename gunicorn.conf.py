"""Gunicorn settings for `make run` and production (README: "Running on PostgreSQL behind gunicorn").

`gunicorn -c gunicorn.conf.py wsgi:app`; options given on the command line win (the Makefile passes
--workers and --bind). Why these values: docs/performance.md, "Workers and slow clients (issue 12)".
"""

import os

# Loopback by default: in production a reverse proxy on the same host (nginx) is the only way in, so
# slow clients are absorbed by the proxy and X-Forwarded-For cannot be forged (PROXY_COUNT=1).
bind = "127.0.0.1:8000"

# One process per core: the work is CPU-bound Python plus PostgreSQL on the same host, so more
# processes than cores only take turns (WEB_CONCURRENCY overrides, as gunicorn's own default does).
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)

# Threads, not sync workers. A sync worker is held by one client from the first byte of its request to
# the last, so as many slow or stalled clients as there are workers stop the server: with 4 stalled
# connections /healthz answered 0 of 20 probes in 40 s, and the arbiter's timeout only hands each worker
# the next stalled connection. With gthread a connection takes a thread only once its request starts to
# arrive (idle and kept-alive connections wait in the worker's poller); 4 or 6 stalled clients left
# /healthz answering 40 of 40 probes. POST /api/v1/scans also served a third to a half more than sync
# workers (keep-alive, and one request's database round trip overlaps another's Python). The app keeps no
# per-process state across requests: each has its own app context and SQLAlchemy session.
worker_class = "gthread"
# Sixteen threads per worker: throughput was the same with 8, 16 or 32, and each stalled client holds one
# thread, so more threads hold out longer against clients that stall (16 kept answering with 12 stalled
# where 8 sometimes did not). It is a margin, not a defence: connections spread unevenly over workers and
# 24 stalled ones could still starve one, which is why production puts nginx in front to buffer requests.
# The engine's pool (5 + 10 overflow connections per process) caps database connections whatever this is.
threads = 16

# A worker that stops reporting for this long (a request stuck in Python, not a slow client, which no
# longer blocks the worker's main loop) is killed and replaced.
timeout = 30
# On a restart or deploy (SIGHUP, SIGTERM), requests in flight get this long to finish: a batch of
# 1,000 scans takes about a second on a quiet server, a label PDF is a background job.
graceful_timeout = 30
# Seconds a kept-alive connection may wait for its next request. Behind nginx (upstream keepalive) the
# proxy reuses connections; an idle one costs a socket in the poller, not a thread.
keepalive = 5
