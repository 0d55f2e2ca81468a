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
