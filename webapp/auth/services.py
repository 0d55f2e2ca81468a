"""Accounts: creating users, resolving scopes, tokens, and the demo accounts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.auth.models import ApiToken, Role, User, hash_token
from webapp.core.exceptions import JejakError
from webapp.geo.models import Region, RegionLevel, Site, dotted_code

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 8
NATIONAL = ("", "ID", "NATIONAL", "*")


class AccountError(JejakError):
    """A request about an account that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Scope:
    """A resolved scope: the nation, a region, or one site."""

    region_code: str | None = None
    site: Site | None = None


def resolve_scope(session: Session, text: str) -> Scope:
    """Read a scope as typed: ID (national), a region code (31.75.04 or 317504) or a site code."""
    raw = (text or "").strip()
    if raw.upper() in NATIONAL:
        return Scope()
    if raw[:1].isalpha():
        site = session.scalar(select(Site).where(Site.code == raw.upper()))
        if site is None:
            raise AccountError(_("There is no site with the code %(code)s.", code=raw))
        return Scope(site=site)
    code = dotted_code(raw)
    if code is None or session.get(Region, code) is None:
        raise AccountError(_("%(raw)s is not a known region code, site code or ID.", raw=raw))
    return Scope(region_code=code)


def normal_username(text: str | None) -> str:
    """A username as stored: stripped, lower-case."""
    return (text or "").strip().lower()


def validate_password(password: str) -> None:
    """Refuse passwords that are too short to resist guessing."""
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(_("The password needs at least %(n)s characters.", n=MIN_PASSWORD))


def create_user(
    session: Session, *, username: str, role: str, scope: Scope, password: str, full_name: str = ""
) -> User:
    """Add a user; the username is lower-case letters, digits, dot, dash or underscore."""
    username = normal_username(username)
    if not USERNAME_RE.match(username):
        raise AccountError(_("The username needs 3-64 characters: a-z, 0-9, dot, dash, underscore."))
    if role not in {r.value for r in Role}:
        raise AccountError(_("The role must be one of %(roles)s.", roles=", ".join(r.value for r in Role)))
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(_("User %(name)s already exists.", name=username))
    validate_password(password)
    user = User(
        username=username,
        role=role,
        full_name=full_name.strip(),
        scope_region_code=scope.region_code,
        scope_site=scope.site,
    )
    user.set_password(password)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    """The user with this username, or an AccountError."""
    user = session.scalar(select(User).where(User.username == normal_username(username)))
    if user is None:
        raise AccountError(_("There is no user %(name)s.", name=username))
    return user


def issue_token(session: Session, user: User, label: str = "") -> str:
    """Create a bearer token for the user and return it; only its hash is kept."""
    secret = ApiToken.new_secret()
    session.add(ApiToken(user=user, token_hash=hash_token(secret), label=label[:80]))
    session.flush()
    return secret


def count_live_tokens(session: Session, user: User) -> int:
    """How many of the user's API tokens are not revoked."""
    return session.scalar(
        select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )


def revoke_tokens(session: Session, user: User) -> int:
    """Revoke every live token of the user; returns how many."""
    tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    for token in tokens:
        token.revoke()
    session.flush()
    return len(tokens)


def first_kecamatan(session: Session, region_code: str) -> str:
    """The first kecamatan of a kab/kota by code (where the demo's PPK officer works)."""
    return session.scalar(
        select(Region.code)
        .where(Region.level == RegionLevel.KECAMATAN, Region.code.like(region_code + ".%"))
        .order_by(Region.code)
    )


def demo_accounts(session: Session, region_code: str) -> list[tuple[str, str, str, str]]:
    """The demo's (username, role, scope, password): one per role, in and around Jakarta Timur."""
    first_kec = first_kecamatan(session, region_code)
    kab = region_code.replace(".", "")
    return [
        ("admin", Role.ADMIN.value, "ID", "jejak-admin"),
        ("supervisor", Role.SUPERVISOR.value, region_code, "jejak-supervisor"),
        ("gudang", Role.WAREHOUSE.value, f"KPU-{kab}", "jejak-gudang"),
        ("kurir", Role.COURIER.value, region_code, "jejak-kurir"),
        ("percetakan", Role.WAREHOUSE.value, "PRN-1", "jejak-percetakan"),  # the printer's dispatch desk
        ("ekspedisi", Role.COURIER.value, "ID", "jejak-ekspedisi"),  # the printer's nationwide carrier
        ("petugas", Role.OFFICER.value, f"PPK-{first_kec.replace('.', '')}", "jejak-petugas"),
        ("pengawas", Role.OBSERVER.value, region_code, "jejak-pengawas"),
    ]


def ensure_demo_users(session: Session, region_code: str) -> list[tuple[str, str, str, str, bool]]:
    """Create the demo accounts that are missing; returns (username, role, scope, password, created)."""
    out = []
    for username, role, scope, password in demo_accounts(session, region_code):
        exists = session.scalar(select(User.id).where(User.username == username)) is not None
        if not exists:
            create_user(
                session,
                username=username,
                role=role,
                scope=resolve_scope(session, scope),
                password=password,
                full_name=f"Demo {role}",
            )
        out.append((username, role, scope, password, not exists))
    return out
