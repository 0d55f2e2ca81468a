"""Who holds a box, spelt one way: `site:CODE` for a site, `user:USERNAME` for a person (a courier).

That is how the ledger's `from` and `to` fields name holders (docs/ledger.md), and how every page, alert
and export names them. A sender types a courier as a receiver as `courier:USERNAME` (what the person is,
not how the ledger names them); `receiver_username` reads that form.
"""

from __future__ import annotations

SITE = "site:"
USER = "user:"
COURIER = "courier:"  # how a dispatch names a courier receiver


def site_holder(code: str) -> str:
    return f"{SITE}{code}"


def user_holder(username: str) -> str:
    return f"{USER}{username}"


def receiver_username(receiver: str | None) -> str | None:
    """The username a dispatch's receiver names (`courier:NAME`), lower-cased; None when the receiver is a
    site code (the phone's own judgement reads receivers the same way: static/js/scan/judge.js)."""
    text = (receiver or "").strip()
    return text[len(COURIER) :].lower() if text.lower().startswith(COURIER) else None


def holder_words(session, holders) -> dict[str, str]:
    """Each holder (`site:CODE`, `user:USERNAME`, or a bare site code) as a person reads it: the site's name
    and code ("Gudang KPU Jakarta Utara (KPU-3175)"), a courier as "kurir Budi Santoso". One query per kind;
    a holder not found keeps its own spelling."""
    from flask_babel import gettext as _
    from sqlalchemy import select

    from webapp.auth.models import User
    from webapp.geo.models import Site

    holders = {h for h in holders if h}
    codes = {h: h.removeprefix(SITE).upper() for h in holders if not h.startswith(USER)}
    usernames = {h: h.removeprefix(USER) for h in holders if h.startswith(USER)}
    sites = (
        {s.code: s for s in session.scalars(select(Site).where(Site.code.in_(set(codes.values()))))} if codes else {}
    )
    users = (
        {u.username: u for u in session.scalars(select(User).where(User.username.in_(set(usernames.values()))))}
        if usernames
        else {}
    )
    words = {h: h for h in holders}
    for holder, code in codes.items():
        if code in sites:
            words[holder] = f"{sites[code].name} ({code})"
    for holder, username in usernames.items():
        if username in users:
            words[holder] = _("courier %(name)s", name=users[username].full_name or username)
    return words
