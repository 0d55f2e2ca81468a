"""People: users with one role and one scope, and their API tokens."""

from __future__ import annotations

import enum
import functools
import hashlib
import secrets
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.geo.models import Region, Site


@functools.cache
def dummy_password_hash() -> str:
    """A hash of a random password, made as `set_password` makes one (werkzeug's default method and cost), once
    per process: what a login for an unknown username is checked against."""
    return generate_password_hash(secrets.token_urlsafe(32))


class Role(enum.StrEnum):
    """What a person does in Jejak (DESIGN.md section 2)."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    WAREHOUSE = "warehouse"
    COURIER = "courier"
    OFFICER = "officer"
    OBSERVER = "observer"


ROLE_VALUES = ", ".join(f"'{r.value}'" for r in Role)


class User(UserMixin, db.Model):
    """A person with one role and a scope: a region code prefix, one site, or (neither) the nation."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN ({ROLE_VALUES})", name="role_valid"),
        CheckConstraint("scope_region_code IS NULL OR scope_site_id IS NULL", name="one_scope_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    scope_region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    scope_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Kept in each browser session at login and checked on every request: raising it (logout, a new
    # password, disabling the account) ends every session of this user at once.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    scope_region: Mapped[Region | None] = relationship()
    scope_site: Mapped[Site | None] = relationship()

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        """A disabled user cannot log in or use a token."""
        return self.active

    def get_id(self) -> str:
        """What Flask-Login keeps in the session (and would in a remember-me cookie): id and session version, "7:3"."""
        return f"{self.id}:{self.session_version or 0}"

    def end_sessions(self) -> None:
        """End every browser session of this user: each one fails the version check on its next request."""
        self.session_version = (self.session_version or 0) + 1

    def set_password(self, password: str) -> None:
        """Store a salted hash of the password (werkzeug's scrypt) and end every session opened with the old one."""
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def set_active(self, active: bool) -> None:
        """Enable or disable the account; disabling also ends its sessions (its API tokens stop at once)."""
        if self.active and not active:
            self.end_sessions()
        self.active = active

    def check_password(self, password: str) -> bool:
        """Whether the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    @staticmethod
    def password_matches(user: User | None, password: str) -> bool:
        """Whether `user` exists and the password is theirs. An unknown username checks the password against a
        dummy hash of the same method and cost, so its answer takes as long as a wrong password's and the
        time does not tell which usernames exist."""
        if user is None:
            check_password_hash(dummy_password_hash(), password)
            return False
        return user.check_password(password)

    @property
    def scope_label(self) -> str:
        """The scope as it is written on the command line: ID, a region code or a site code."""
        if self.scope_site is not None:
            return self.scope_site.code
        return self.scope_region_code or "ID"


def hash_token(token: str) -> str:
    """Tokens are long random strings, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(db.Model):
    """A bearer token for a non-browser client; only its hash is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} user={self.user_id}>"

    @staticmethod
    def new_secret() -> str:
        """A fresh token string, shown once to the person who asked for it."""
        return "jjk_" + secrets.token_urlsafe(32)

    def revoke(self) -> None:
        """Stop the token from authenticating from now on."""
        self.revoked_at = datetime.now(UTC)
