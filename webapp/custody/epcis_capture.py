"""EPCIS 2.0 in: the ObjectEvents of another system's capture document, recorded as the scans they describe.

A printer's or a logistics company's own system speaks EPCIS 2.0 (JSON-LD). Each ObjectEvent of its document
becomes the scan it describes, judged by the very rules a phone's scan meets (custody/pipeline.py
`record_scans`: the account's role and area, the box's route and dapil, who holds it, seals), as the account
that sends the document:

| EPCIS `bizStep` (CBV 2.0)              | Jejak action | where                                    |
| -------------------------------------- | ------------ | ---------------------------------------- |
| `shipping`, `departing`                | dispatch     | `readPoint` (or `bizLocation`); to: the `destinationList` entry of type `location` |
| `receiving`, `accepting`, `arriving`   | receive      | `readPoint` (or `bizLocation`)           |
| `inspecting`                           | inspect      | `readPoint` (or `bizLocation`)           |

A box (`epcList`) is named by its GS1 Digital Link URI (`https://id.gs1.org/00/<SSCC>`, any host) or its EPC
URN (`urn:epc:id:sscc:<company prefix>.<extension and serial reference>`); a place by the GS1 Digital Link URI
of its GLN (`https://id.gs1.org/414/<GLN>`), its SGLN URN (`urn:epc:id:sgln:<prefix>.<location ref>.<ext>`)
or Jejak's own site URI (`.../sites/<CODE>`, as Jejak's export wrote it before sites had GLNs, migration 0022). Business steps,
source and destination types are read in any of CBV 2.0's forms (`shipping`, `urn:epcglobal:cbv:bizstep:shipping`,
`https://ref.gs1.org/cbv/BizStep-shipping`). Seal numbers seen may travel as `jejak:seals` (a list).

Each event is recorded once: its scan id is derived from the sender, its `eventID` (or, without one, its
content) and the box's SSCC however the EPC spells it, so a document sent again changes nothing and answers as
before, and no sender's event ids stand in the way of another's. eventTime must be a plausible time for a scan
(as the phone's: from 2020 up to a day ahead); `jejak:seals`, if there, seal numbers as the phone takes them.
An event's boxes are judged each as a scan, as at a handover: a box refused at the door does not stop the
others of the same truck. An event Jejak cannot read (not an
ObjectEvent, no time, an unknown step or place, a malformed box code) gets an error of its own and nothing of
it is written; an event the rules refuse is refused as the phone's scan would be (its receipt, and the alert a
supervisor sees: that is the point of the 388 TPS of 2024).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.auth.models import User
from webapp.boxes.codes import CodeError, parse_code
from webapp.core.database import in_transaction
from webapp.custody.event import EARLIEST, FUTURE_TOLERANCE, SEAL_MAX, SEAL_PATTERN, parse_utc
from webapp.custody.messages import message
from webapp.custody.models import Verdict
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.extensions import db
from webapp.geo.gln import gs1_check_digit
from webapp.geo.models import Site

SEAL = re.compile(SEAL_PATTERN, re.ASCII)
MAX_EVENTS = 10_000  # one document; a bigger one is sent in parts
MAX_EPCS = 1_000  # boxes in one event (a truck's load is a few hundred)
MAX_BOXES = 20_000  # boxes in one document, all its events together
# Scan ids of captured events: uuid5 in this namespace of the event's id and the box.
NAMESPACE = uuid.UUID("4b5a8d0e-5f2c-4f4e-9d3b-6a1c7e2f9b10")
ACTIONS = {
    "shipping": "dispatch",
    "departing": "dispatch",
    "receiving": "receive",
    "accepting": "receive",
    "arriving": "receive",
    "inspecting": "inspect",
}
_CBV_PREFIXES = (
    "urn:epcglobal:cbv:bizstep:",
    "urn:epcglobal:cbv:sdt:",
    "https://ref.gs1.org/cbv/BizStep-",
    "https://ref.gs1.org/cbv/SDT-",
    "cbv:BizStep-",
    "cbv:SDT-",
)
_SSCC_URN = re.compile(r"^urn:epc:id:sscc:(\d{6,12})\.(\d{5,11})$", re.ASCII)
_SGLN_URN = re.compile(r"^urn:epc:id:sgln:(\d{6,12})\.(\d{0,6})\.[^\s]*$", re.ASCII)
_GLN_LINK = re.compile(r"^https?://[^/\s]+(?:/[^\s?#]*)?/414/(\d{13})(?:[/?#][^\s]*)?$", re.ASCII | re.IGNORECASE)
_SITE_URI = re.compile(r"^https?://[^/\s]+(?:/[^\s?#]*)?/sites/([A-Za-z]+-[0-9A-Za-z]+)/?$", re.ASCII)


class DocumentProblem(ValueError):
    """The document as a whole cannot be read (not an EPCIS document, no event list, too many events)."""


@dataclass
class EventResult:
    """What became of one box of one event: `verdict` accepted, duplicate or refused (the rules said no), or
    `error` (the event could not be read: nothing of it was written)."""

    index: int  # the event's place in the document's eventList, from 0
    event_id: str | None
    epc: str | None
    verdict: str
    reason: str
    message: str
    original: str | None = None  # a duplicate's first verdict

    def json(self) -> dict:
        return {
            "index": self.index,
            "eventID": self.event_id,
            "epc": self.epc,
            "verdict": self.verdict,
            "reason": self.reason,
            "message": self.message,
            **({"original_verdict": self.original} if self.original else {}),
        }


def short_name(value: object) -> str:
    """A CBV value in its short form: `urn:epcglobal:cbv:bizstep:shipping` and `https://ref.gs1.org/cbv/
    BizStep-shipping` are both `shipping`."""
    text = str(value or "").strip()
    for prefix in _CBV_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def box_code(epc: object) -> str:
    """What the scan pipeline reads as a box code: a Digital Link URI as it is; an SSCC EPC URN as its
    18 digits (extension digit, company prefix, serial reference, check digit)."""
    text = str(epc or "").strip()
    match = _SSCC_URN.match(text)
    if match and len(match.group(1)) + len(match.group(2)) == 17:
        prefix, rest = match.groups()
        digits = rest[0] + prefix + rest[1:]
        return digits + str(gs1_check_digit(digits))
    return text


def _gln(prefix: str, reference: str) -> str | None:
    digits = prefix + reference
    return digits + str(gs1_check_digit(digits)) if len(digits) == 12 else None


def site_code(session: Session, location: object) -> str | None:
    """The code of the site a location identifier names, or None."""
    if isinstance(location, dict):
        location = location.get("id")
    text = str(location or "").strip()
    gln = None
    if match := _GLN_LINK.match(text):
        gln = match.group(1)
    elif match := _SGLN_URN.match(text):
        gln = _gln(*match.groups())
    if gln is not None:
        return session.scalar(select(Site.code).where(Site.gln == gln))
    if match := _SITE_URI.match(text):
        return session.scalar(select(Site.code).where(Site.code == match.group(1).upper()))
    return None


def sscc_of(epc: str) -> str | None:
    """The SSCC an EPC names however it is spelt (Digital Link on any host, with a query or not; EPC URN;
    the 18 digits), or None if it names no box."""
    try:
        return parse_code(box_code(epc))
    except CodeError:
        return None


def _event_key(event: dict) -> str:
    """The event's own id, or (without one) a digest of its content: the same event sent twice is one event."""
    if isinstance(event.get("eventID"), str) and event["eventID"].strip():
        return event["eventID"].strip()
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha-256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _destination(session: Session, event: dict) -> str | None:
    listed = event.get("destinationList")
    entries = [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
    located = [e for e in entries if short_name(e.get("type")) == "location"] or entries
    for entry in located:
        if code := site_code(session, entry.get("destination")):
            return code
    return None


def _seals(event: dict) -> list[str] | bool | None:
    """The seal numbers the event says were seen (None: it says none), or False if they are not seal numbers
    as the phone takes them (1 to 20, each as SEAL says)."""
    if "jejak:seals" not in event:
        return None
    seals = event["jejak:seals"]
    if (
        isinstance(seals, list)
        and 0 < len(seals) <= 20
        and all(isinstance(s, str) and len(s) <= SEAL_MAX and SEAL.fullmatch(s) for s in seals)
    ):
        return seals
    return False


@dataclass
class _Read:
    """What an event says, once read: the scan it describes for each of its boxes."""

    action: str
    site: str
    scanned_at: datetime
    extra: dict


def _read(event: dict, session: Session, now: datetime | None = None) -> _Read | tuple[str, str]:
    """The event as scans (its place and destination looked up once), or why it cannot be: (reason, message)."""
    if not isinstance(event, dict) or event.get("type") != "ObjectEvent":
        return "not_object_event", _("Only ObjectEvents describe a box's handover.")
    if event.get("action") != "OBSERVE":
        return "not_observe", _("Only OBSERVE events are taken: a box is commissioned by printing its label in Jejak.")
    epcs = event.get("epcList")
    if not isinstance(epcs, list) or not epcs or not all(isinstance(e, str) for e in epcs):
        return "no_epc", _("The event names no box (epcList).")
    if len(epcs) > MAX_EPCS:
        return "too_many_epcs", _("At most %(n)s boxes per event: send it as several events.", n=f"{MAX_EPCS:,}")
    moment = parse_utc(event.get("eventTime"))
    if moment is None:
        return "bad_time", _("eventTime is missing or not a time with its offset (RFC 3339).")
    if not EARLIEST <= moment <= (now or datetime.now(UTC)) + FUTURE_TOLERANCE:
        return "implausible_time", _("eventTime is not a plausible time for a scan: from 2020 up to one day ahead.")
    step = short_name(event.get("bizStep"))
    if step not in ACTIONS:
        return "unknown_step", _("Business step %(step)s is not one Jejak records.", step=step or "-")
    site = site_code(session, event.get("readPoint") or event.get("bizLocation"))
    if site is None:
        return "unknown_place", _("The event's place (readPoint) is not a site Jejak knows.")
    extra = {}
    if ACTIONS[step] == "dispatch":
        extra["to"] = _destination(session, event)
        if extra["to"] is None:
            return "unknown_destination", _("A shipment names no destination site Jejak knows (destinationList).")
    seals = _seals(event)
    if seals is False:
        return "bad_seals", _("jejak:seals must list 1 to 20 seal numbers (letters, digits, - / .).")
    if seals:
        extra["seals"] = seals
    return _Read(ACTIONS[step], site, moment, extra)


def document_events(document: object) -> list:
    """The event list of an EPCIS 2.0 document, or DocumentProblem saying why it is none."""
    if not isinstance(document, dict) or document.get("type") != "EPCISDocument":
        raise DocumentProblem(_("This is not an EPCIS 2.0 document (type EPCISDocument)."))
    events = (document.get("epcisBody") or {}).get("eventList") if isinstance(document.get("epcisBody"), dict) else None
    if not isinstance(events, list):
        raise DocumentProblem(_("The document has no event list (epcisBody.eventList)."))
    if len(events) > MAX_EVENTS:
        raise DocumentProblem(_("At most %(n)s events per document: send it in parts.", n=f"{MAX_EVENTS:,}"))
    boxes = sum(len(e["epcList"]) for e in events if isinstance(e, dict) and isinstance(e.get("epcList"), list))
    if boxes > MAX_BOXES:
        raise DocumentProblem(_("At most %(n)s boxes per document: send it in parts.", n=f"{MAX_BOXES:,}"))
    return events


def capture_events(
    session: Session, *, actor: User, events: list, device: str, first: int = 0, now: datetime | None = None
) -> list[EventResult]:
    """Record events (the document's from index `first` on) as `actor`'s scans, in one write (the caller
    commits). `device` names where they came from (the capture job), as a phone's id does; the scans are
    numbered from `first`, so a document taken in parts keeps its order. One result per box per event."""
    results: list[EventResult] = []
    scans: list[ScanInput] = []
    slots: list[int] = []  # the result each scan answers
    for index, event in enumerate(events, start=first):
        try:  # whatever an event holds, it gets an answer of its own and the others go on
            key = _event_key(event) if isinstance(event, dict) else None
            read = _read(event, session, now)
            if isinstance(read, _Read):
                ids = [
                    str(uuid.uuid5(NAMESPACE, f"{actor.id}\n{key}\n{sscc_of(epc) or epc}")) for epc in event["epcList"]
                ]
        except (ValueError, TypeError, OverflowError, UnicodeError):
            key, read = None, ("unreadable", _("This event cannot be read: check its fields against EPCIS 2.0."))
        if not isinstance(read, _Read):
            results.append(EventResult(index, key, None, "error", *read))
            continue
        for position, (epc, client_id) in enumerate(zip(event["epcList"], ids, strict=True)):
            scans.append(
                ScanInput(
                    client_id=client_id,
                    code=box_code(epc),
                    action=read.action,
                    site=read.site,
                    scanned_at=read.scanned_at,
                    device_id=device[:64],
                    device_seq=index * MAX_EPCS + position + 1,  # the document's order
                    **read.extra,
                )
            )
            slots.append(len(results))
            results.append(EventResult(index, key, epc, "", "", ""))
    if scans:
        for slot, outcome in zip(slots, record_scans(session, actor=actor, scans=scans, now=now), strict=True):
            answer = results[slot]
            answer.verdict, answer.reason, answer.message = str(outcome.verdict), outcome.reason or "", message(outcome)
            if outcome.verdict == Verdict.DUPLICATE:
                answer.original = outcome.original_verdict
    return results


def capture(
    session: Session, *, actor: User, document: object, device: str, now: datetime | None = None
) -> list[EventResult]:
    """Record a whole capture document's events as `actor`'s scans, in one write (the caller commits)."""
    return capture_events(session, actor=actor, events=document_events(document), device=device, now=now)


epcis_cli = AppGroup("epcis", help="EPCIS 2.0 documents from other systems.")


@epcis_cli.command("capture")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", required=True, help="The account whose scans these are (its role and area apply).")
def capture_command(path: Path, username: str) -> None:
    """Record an EPCIS 2.0 JSON-LD document's events as USERNAME's scans; print each event's outcome.

    Exit 0 when every event was recorded (or was already), 1 when some were refused or unreadable (the
    others are recorded), 2 when the file is not an EPCIS document (nothing is written)."""
    actor = db.session.scalar(select(User).where(User.username == username))
    if actor is None or not actor.active:
        raise click.UsageError(f"no active account {username!r}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        device = f"epcis:{path.name}"
        results = in_transaction(lambda: capture(db.session, actor=actor, document=document, device=device))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{path}: not JSON ({exc})") from exc
    except DocumentProblem as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    counts: dict[str, int] = {}
    for result in results:
        counts[result.verdict] = counts.get(result.verdict, 0) + 1
        if result.verdict not in ("accepted", "duplicate"):
            click.echo(f"event {result.index} ({result.epc or result.event_id}): {result.reason}: {result.message}")
    click.echo(", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items())) or "no events")
    if any(r.verdict not in ("accepted", "duplicate") for r in results):
        raise SystemExit(1)


@epcis_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--region", help="Only the events of boxes bound for this region (e.g. 31.75); default: all.")
def export_command(path: Path, region: str | None) -> None:
    """Write the ledger's events as one EPCIS 2.0 JSON-LD document, as GET /api/v1/export/epcis does."""
    from flask import current_app

    from webapp.exports.epcis import stream_document
    from webapp.geo.models import Region, dotted_code

    code = ""
    if region is not None:
        code = dotted_code(region) or ""
        if not code or db.session.get(Region, code) is None:
            raise click.ClickException("no region with that code (e.g. 31.75)")
    start, end = datetime(2020, 1, 1, tzinfo=UTC), datetime.now(UTC)
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for chunk in stream_document(db.session, region=code, start=start, end=end, base=base):
            out.write(chunk)
    click.echo(f"Exported to {path}.")
