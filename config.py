"""Configuration classes; every secret and location comes from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _dev_secret_key() -> str:
    """Return a per-checkout random key kept in instance/, so dev sessions survive restarts."""
    INSTANCE_DIR.mkdir(exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _database_url(url: str) -> str:
    """Normalise a PostgreSQL URL to the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Development defaults: an embedded SQLite file under instance/."""

    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SQLALCHEMY_DATABASE_URI = _database_url(os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'jejak.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict] = {"pool_pre_ping": True}
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    # GS1's own documentation prefix; production sets KPU's real company prefix.
    GS1_COMPANY_PREFIX = os.environ.get("GS1_COMPANY_PREFIX", "0614141")
    GS1_EXTENSION_DIGIT = int(os.environ.get("GS1_EXTENSION_DIGIT", "0"))
    # Sites' GS1 location numbers (webapp/geo/gln.py) are numbered under this prefix, by default the company
    # prefix; the site id fills the digits it leaves, so a prefix of p digits numbers 10**(12-p) sites.
    GS1_GLN_PREFIX = os.environ.get("GS1_GLN_PREFIX") or GS1_COMPANY_PREFIX
    # Voters (DPT) per inhabitant used when seeding from population: 204,807,222 voters on the
    # 2024 DPT over 284,973,643 inhabitants in penduduk.csv.
    SEED_VOTER_RATIO = 0.72
    # Base64 of the 32-byte Ed25519 seed that signs ledger checkpoints (development makes its own).
    LEDGER_SIGNING_KEY = os.environ.get("LEDGER_SIGNING_KEY") or None
    LEDGER_CHECKPOINT_EVERY = int(os.environ.get("LEDGER_CHECKPOINT_EVERY", "10000"))
    # bench/scan_ingest.py only: enables POST /api/v1/_bench/floor, which writes unchained events.
    BENCH_FLOOR_ENDPOINT = os.environ.get("JEJAK_BENCH_FLOOR") == "1"
    SEED_MAX_VOTERS_PER_TPS = 300
    # pemilu or pilkada: sets the ballot reserve of a new item catalogue (2% or 2.5% per TPS)
    ELECTION_TYPE = os.environ.get("ELECTION_TYPE", "pemilu")
    # Voting day (YYYY-MM-DD) and how many days before it each level must hold its boxes (H-3, H-1).
    ELECTION_DAY = os.environ.get("ELECTION_DAY") or None
    READINESS_MILESTONES: ClassVar[dict[str, int]] = {"ppk": 3, "tps": 1}
    # After voting: how many days after it the opened boxes must be back at the PPK and the warehouse.
    RETURN_MILESTONES: ClassVar[dict[str, int]] = {"ppk": 3, "warehouse": 10}
    # Alerts (flask alerts scan): a box on the road longer than this many hours is stalled; a label
    # seen at two places farther apart than this speed allows (km/h, beyond CLONE_MIN_KM) is cloned.
    STALLED_AFTER_HOURS = int(os.environ.get("STALLED_AFTER_HOURS", "48"))
    CLONE_MAX_KMH = int(os.environ.get("CLONE_MAX_KMH", "150"))
    CLONE_MIN_KM = int(os.environ.get("CLONE_MIN_KM", "20"))
    # The task queue (Huey, webapp/core/jobs.py): label print jobs, the ledger's checkpoints, the alerts sweep,
    # run by `flask jobs worker` (`make run` starts it beside gunicorn). Where the queue is kept:
    # sqlite:///PATH (a file, relative to the project; one machine), redis://HOST:6379/DB or
    # postgresql://USER@HOST/DB (several app servers share it). The label PDFs themselves are in the database.
    JOBS_URL = os.environ.get("JOBS_URL") or f"sqlite:///{INSTANCE_DIR / 'jobs.db'}"
    JOBS_IMMEDIATE = False  # True: a task runs at once where it is enqueued (tests), no worker needed
    JOBS_WORKERS = int(os.environ.get("JOBS_WORKERS", "4"))  # threads of `flask jobs worker`
    # Every event is covered by a signed checkpoint within this many seconds: one is made every half of it.
    LEDGER_MAX_DELAY = int(os.environ.get("LEDGER_MAX_DELAY", "60"))
    # The log's name in its checkpoints and key (c2sp.org/tlog-checkpoint origin); by default
    # "<host of PUBLIC_BASE_URL>/jejak/<ELECTION_TYPE>". Never change it for a running election: it is signed.
    LEDGER_ORIGIN = os.environ.get("LEDGER_ORIGIN") or None
    LEDGER_RATE_LIMIT = os.environ.get("LEDGER_RATE_LIMIT", "300 per minute")  # the public key, checkpoint, proofs
    COSIGNATURE_RATE_LIMIT = os.environ.get("COSIGNATURE_RATE_LIMIT", "60 per minute")  # witnesses' posts, per address
    ALERTS_SWEEP_MINUTES = int(os.environ.get("ALERTS_SWEEP_MINUTES", "5"))  # the stalled/overdue sweep's period
    # A label job that fails is run again this many times, this many seconds apart, then shown as failed.
    LABEL_JOB_RETRIES = int(os.environ.get("LABEL_JOB_RETRIES", "2"))
    LABEL_JOB_RETRY_DELAY = int(os.environ.get("LABEL_JOB_RETRY_DELAY", "30"))
    # A running label job that has not reported progress for this long lost its worker: it is run again.
    LABEL_JOB_STALE_SECONDS = int(os.environ.get("LABEL_JOB_STALE_SECONDS", "300"))

    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    LANGUAGES: ClassVar[dict[str, str]] = {"id": "Bahasa Indonesia", "en": "English"}

    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    LOGIN_RATE_LIMIT = "10 per minute"
    # Per username, on the same storage (webapp/auth/throttle.py): after LOGIN_ACCOUNT_FAILURES wrong passwords
    # within LOGIN_ACCOUNT_WINDOW seconds, each further attempt waits LOGIN_ACCOUNT_DELAY seconds after the last
    # failure, doubling per failure up to LOGIN_ACCOUNT_MAX_DELAY; a right password resets the count.
    LOGIN_ACCOUNT_FAILURES = int(os.environ.get("LOGIN_ACCOUNT_FAILURES", "5"))
    LOGIN_ACCOUNT_WINDOW = int(os.environ.get("LOGIN_ACCOUNT_WINDOW", "3600"))
    LOGIN_ACCOUNT_DELAY = int(os.environ.get("LOGIN_ACCOUNT_DELAY", "60"))
    LOGIN_ACCOUNT_MAX_DELAY = int(os.environ.get("LOGIN_ACCOUNT_MAX_DELAY", "900"))
    # A browser that logged in as a username within this many days is counted apart from strangers.
    LOGIN_KNOWN_BROWSER_DAYS = int(os.environ.get("LOGIN_KNOWN_BROWSER_DAYS", "90"))
    EXPORT_RATE_LIMIT = "10 per hour"  # GET /api/v1/export/ledger: each download streams every event
    # GET /api/v1/epcis/events, per client address: a page is at most 1,000 events, one indexed query
    EPCIS_QUERY_RATE_LIMIT = os.environ.get("EPCIS_QUERY_RATE_LIMIT", "120 per minute")
    # A finished EPCIS capture job (its report of refused events) is kept this many days for its sender, then
    # deleted; its events stay in the ledger.
    CAPTURE_JOB_KEEP_DAYS = max(1, int(os.environ.get("CAPTURE_JOB_KEEP_DAYS", "30")))  # at least a day
    # Streamed exports (ledger, EPCIS) running at once on this machine, over all workers; more get 429.
    EXPORT_CONCURRENCY = int(os.environ.get("EXPORT_CONCURRENCY", "2"))
    EXPORT_SLOTS_DIR = os.environ.get("EXPORT_SLOTS_DIR") or str(INSTANCE_DIR / "export-slots")
    FORCE_HTTPS = False
    MAX_CONTENT_LENGTH = 4 * 1024 * 1024  # a batch of 1,000 scans is well under 1 MB
    # `flask seed demo` creates accounts whose passwords are in the README: never in production.
    DEMO_ACCOUNTS_ALLOWED = True
    # Static files (webapp/core/assets.py): the precompressed copy of static/ that `make setup` builds (not in git).
    STATIC_BUILD_DIR = os.environ.get("STATIC_BUILD_DIR") or str(BASE_DIR / "build" / "static")
    # Dynamic responses compressed (Flask-Compress) when the client accepts br or gzip and the body is 1 KB or more.
    # Streamed responses (the ledger, EPCIS and CSV exports) are compressed as they stream, chunk by chunk through
    # one compressor (br, else gzip), when the client accepts it; a client that does not gets them plain.
    COMPRESS_ALGORITHM: ClassVar[list[str]] = ["br", "gzip"]
    COMPRESS_MIMETYPES: ClassVar[list[str]] = [
        "text/html",
        "text/css",
        "text/plain",
        "text/csv",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/x-ndjson",  # when not streamed
        "application/ld+json",
        "application/manifest+json",
        "image/svg+xml",
    ]
    COMPRESS_MIN_SIZE = 1024
    COMPRESS_BR_LEVEL = 4  # fast enough per request; the static files get brotli's best at build time
    COMPRESS_STREAMS = True
    COMPRESS_ALGORITHM_STREAMING: ClassVar[list[str]] = ["br", "gzip"]
    # Proxies in front of the app that set X-Forwarded-For (werkzeug ProxyFix), so rate limits see the client.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))

    @staticmethod
    def prepare(config: dict) -> None:
        """Fill in development-only defaults; production overrides this to refuse instead."""
        if not config.get("SECRET_KEY"):
            config["SECRET_KEY"] = _dev_secret_key()
        if not config.get("LEDGER_SIGNING_KEY"):
            from webapp.custody.ledger import dev_signing_key

            config["LEDGER_SIGNING_KEY"] = dev_signing_key(INSTANCE_DIR)


class TestConfig(Config):
    """Pytest: a throwaway database (TEST_DATABASE_URL or a temporary SQLite file)."""

    TESTING = True
    SECRET_KEY = "test-only-not-secret"
    LEDGER_SIGNING_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # bytes 0..31: tests only
    SQLALCHEMY_DATABASE_URI = _database_url(
        os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'test.db'}"
    )
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    # Tasks run where they are enqueued, inside the test's transaction (tests/core/test_jobs.py runs a real queue).
    JOBS_IMMEDIATE = True
    JOBS_URL = "sqlite:///" + str(INSTANCE_DIR / f"jobs-{os.environ.get('PYTEST_XDIST_WORKER', 'test')}.db")
    LABEL_JOB_RETRY_DELAY = 0
    # Each pytest-xdist worker its own export slots, as it has its own database.
    EXPORT_SLOTS_DIR = str(INSTANCE_DIR / f"export-slots-{os.environ.get('PYTEST_XDIST_WORKER', 'test')}")

    @staticmethod
    def prepare(config: dict) -> None:
        """Nothing to fill in for tests."""


# Every label printed in production carries these: its QR code opens PUBLIC_BASE_URL/00/<SSCC>, and its
# SSCC is numbered under GS1_COMPANY_PREFIX. A default for either would print unusable labels by the box.
PRODUCTION_REQUIRED = ("SECRET_KEY", "DATABASE_URL", "LEDGER_SIGNING_KEY", "PUBLIC_BASE_URL", "GS1_COMPANY_PREFIX")
# A SECRET_KEY signs every session and CSRF token: shorter than this, or missing, production does not start.
SECRET_KEY_MIN_LENGTH = 32
MAKE_SECRET_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
# 0614141 is the company prefix of GS1's documentation; prefixes 952... are GS1's range for examples.
GS1_EXAMPLE_PREFIXES = ("0614141", "952")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def _public_base_url_problem(url: str) -> str | None:
    """Why `url` cannot be printed on labels (None when it can): https, a public host, nothing after the path."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return "must be the https:// address people reach Jejak at, e.g. https://jejak.example.go.id"
    if parts.hostname in LOOPBACK_HOSTS or parts.hostname.startswith("127."):
        return "is this machine's own address: a phone scanning a label cannot reach it"
    if parts.query or parts.fragment:
        return "must not have a query or a fragment"
    return None


def _secret_key_problem(key: str) -> str | None:
    """Why `key` cannot sign sessions (None when it can): missing or too short to resist guessing. The
    message gives its length, never the key."""
    if not key:
        return f"make a SECRET_KEY with {MAKE_SECRET_KEY} and keep it in your secret store"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return (
            f"SECRET_KEY is {len(key)} characters, too short to sign sessions safely: it needs at least "
            f"{SECRET_KEY_MIN_LENGTH}; make one with {MAKE_SECRET_KEY}"
        )
    return None


def _gs1_prefix_problem(prefix: str) -> str | None:
    """Why `prefix` is not a usable GS1 company prefix (None when it is)."""
    if not (prefix.isascii() and prefix.isdigit() and 6 <= len(prefix) <= 12):
        return "must be 6-12 digits (KPU's GS1 company prefix)"
    if prefix.startswith(GS1_EXAMPLE_PREFIXES):
        return "is a GS1 example prefix, not KPU's: set the company prefix GS1 Indonesia assigned"
    return None


class ProductionConfig(Config):
    """Production: refuses to start without secrets and label settings; cookies only over HTTPS."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    DEMO_ACCOUNTS_ALLOWED = False
    BENCH_FLOOR_ENDPOINT = False
    FORCE_HTTPS = os.environ.get("FORCE_HTTPS", "1") != "0"

    @staticmethod
    def prepare(config: dict) -> None:
        """Refuse to start without secrets (a SECRET_KEY of at least 32 characters), a public https address and
        KPU's GS1 prefix: no made-up fallback."""
        env = {name: os.environ.get(name, "") for name in PRODUCTION_REQUIRED}
        missing = [name for name, value in env.items() if not value]
        problems = ["needs these environment variables: " + ", ".join(missing)] if missing else []
        if reason := _secret_key_problem(env["SECRET_KEY"]):
            problems.append(reason)
        if env["PUBLIC_BASE_URL"] and (reason := _public_base_url_problem(env["PUBLIC_BASE_URL"])):
            problems.append(f"PUBLIC_BASE_URL {env['PUBLIC_BASE_URL']!r} {reason}")
        if env["GS1_COMPANY_PREFIX"] and (reason := _gs1_prefix_problem(env["GS1_COMPANY_PREFIX"])):
            problems.append(f"GS1_COMPANY_PREFIX {env['GS1_COMPANY_PREFIX']!r} {reason}")
        if problems:
            raise RuntimeError("Production configuration " + "; ".join(problems))
        config["SECRET_KEY"] = env["SECRET_KEY"]
        config["SQLALCHEMY_DATABASE_URI"] = _database_url(env["DATABASE_URL"])
        config["LEDGER_SIGNING_KEY"] = env["LEDGER_SIGNING_KEY"]
        config["PUBLIC_BASE_URL"] = env["PUBLIC_BASE_URL"].rstrip("/")
        config["GS1_COMPANY_PREFIX"] = env["GS1_COMPANY_PREFIX"]
        config["GS1_GLN_PREFIX"] = os.environ.get("GS1_GLN_PREFIX") or env["GS1_COMPANY_PREFIX"]


CONFIGS = {"development": Config, "testing": TestConfig, "production": ProductionConfig}


def config_from_env() -> type[Config]:
    """Pick the configuration class named by JEJAK_ENV (development by default)."""
    name = os.environ.get("JEJAK_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"JEJAK_ENV must be one of {sorted(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
