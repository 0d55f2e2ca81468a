"""Incident photos: a JPEG the phone compressed, kept by its SHA-256, which the incident's ledger
event names in its note (`foto sha256:HEX`), so the event vouches for exactly this picture."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.auth.models import User
from webapp.core.exceptions import JejakError
from webapp.core.images import MAX_MULTISCAN_SIDE, ImageRefused, checked_image
from webapp.custody.models import IncidentPhoto

MAX_PHOTO_BYTES = 600_000  # the phone sends about 150 kB (1280 px, JPEG quality 0.7)
MAX_PHOTO_SIDE = 4000
PHOTO_REF = re.compile(r"foto sha256:([0-9a-f]{64})")


class PhotoError(JejakError):
    """A photo refused (invalid_request)."""


def store_photo(session: Session, data: bytes, *, actor: User) -> tuple[IncidentPhoto, bool]:
    """Keep a JPEG (once: the same bytes again return the kept one); returns (photo, created)."""
    if not data or len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(_("A photo must be a JPEG of at most %(kb)s kB.", kb=MAX_PHOTO_BYTES // 1000))
    try:
        checked_image(data, kind="JPEG", max_size=(MAX_PHOTO_SIDE, MAX_PHOTO_SIDE))
    except ImageRefused as exc:
        if exc.reason == "too_large":
            raise PhotoError(_("A photo must be a JPEG of at most %(px)s pixels a side.", px=MAX_PHOTO_SIDE)) from None
        if exc.reason == "multiscan":
            raise PhotoError(
                _(
                    "A progressive JPEG may be at most %(px)s pixels a side: send a baseline JPEG.",
                    px=MAX_MULTISCAN_SIDE,
                )
            ) from None
        raise PhotoError(_("This is not a readable JPEG photo.")) from None
    digest = hashlib.sha256(data).hexdigest()
    existing = session.scalar(select(IncidentPhoto).where(IncidentPhoto.sha256 == digest))
    if existing is not None:
        return existing, False
    photo = IncidentPhoto(
        sha256=digest, content_type="image/jpeg", data=data, uploaded_by_id=actor.id, uploaded_at=datetime.now(UTC)
    )
    session.add(photo)
    session.flush()
    return photo, True


def photo_refs(note: str | None) -> list[str]:
    """The photo hashes an event's note names."""
    return PHOTO_REF.findall(note or "")
