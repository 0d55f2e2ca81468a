"""EPCIS 2.0 over its REST binding: capture (`POST /epcis/capture`, then `GET /epcis/capture/{captureID}`)
and the simple event query (`GET /epcis/events`).

Capture takes an EPCIS 2.0 JSON-LD document from another system (a printer's, a logistics company's) sent
with an account's token: 202 with the capture job's address; a task records its events as that account's
scans, by the phone's rules (custody/capture_jobs.py, custody/epcis_capture.py). Only the sender sees the
job (anyone else: 404).

The query answers an EPCISQueryDocument of the events of boxes in the caller's area, oldest first, by box
(MATCH_epc / MATCH_anyEPC), business step (EQ_bizStep), event type, place (EQ_readPoint) and time range
(GE_/LT_eventTime, GE_/LT_recordTime), `perPage` at a time; the next page's address is in the Link header
(rel="next"), as the binding says (a page may hold fewer than perPage events when `commissioning` or
`encoding` is asked for: a label's first print and its reprints are one kind of ledger event). A value that names nothing Jejak knows (an EPC of no box, another business step or event
type, an unknown place) matches nothing; a parameter it does not know, or a time or number it cannot read, is
refused (400), as the standard's QueryParameterException, rather than ignored.

Answers speak the binding as GS1's OpenAPI document of it says (tests/custody/test_epcis_gs1_openapi.py checks
them against that file): each carries `GS1-EPCIS-Version` and `GS1-CBV-Version`; an error is an RFC 7807
problem (`application/problem+json`, `type` one of the binding's `epcisException:...` names, `title`,
`status`, `detail`) that also keeps Jejak's own `error` member, so one client reads both APIs alike.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from http import HTTPStatus

from flask import Response, current_app, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import false, func, or_, select

from webapp.api.body import BodyError, check_shape, read_body
from webapp.api.custody import WRITE_ROLES
from webapp.api.views import bp
from webapp.auth.access import box_clause, roles_required
from webapp.boxes.models import Box, Packet
from webapp.core.database import in_transaction
from webapp.core.errors import error_response
from webapp.core.jobs import JobState
from webapp.custody.actions import ACTIONS
from webapp.custody.capture_jobs import capture_json, enqueue, submit
from webapp.custody.epcis_capture import MAX_BOXES, MAX_EVENTS, DocumentProblem, short_name, site_code, sscc_of
from webapp.custody.event import parse_utc, utc_text
from webapp.custody.models import CaptureJob, CustodyEvent
from webapp.exports.epcis import CONTEXT, REPRINT, namespaces, query_events
from webapp.extensions import db, limiter
from webapp.geo.models import Site

EPCIS_PREFIX = "/api/v1/epcis/"
# The binding's exception for each error status (GS1's OpenAPI document of the REST binding), and its title.
PROBLEMS = {
    400: ("ValidationException", "The request is not valid"),
    401: ("SecurityException", "Not authenticated"),
    403: ("SecurityException", "Not allowed"),
    404: ("NoSuchNameException", "No such resource"),
    406: ("NotAcceptableException", "Not acceptable"),
    413: ("CaptureLimitExceededException", "Too large"),
    415: ("UnsupportedMediaTypeException", "Unsupported media type"),
    429: ("CaptureLimitExceededException", "Too many requests"),
    500: ("ImplementationException", "Server error"),
}
CAPTURE_MAX_BYTES = 4 * 1024 * 1024  # the app's MAX_CONTENT_LENGTH: a bigger document is sent in parts
MAX_WAITING = 10  # a sender's capture jobs queued or running at once
PER_PAGE, MAX_PER_PAGE = 100, 1000
MAX_LIST = 100  # values of one list parameter (EPCs, business steps)
QUERY_PARAMETERS = (
    "eventType",
    "GE_eventTime",
    "LT_eventTime",
    "GE_recordTime",
    "LT_recordTime",
    "EQ_bizStep",
    "EQ_readPoint",
    "MATCH_epc",
    "MATCH_anyEPC",
    "perPage",
    "nextPageToken",
)
EVENT_TYPES = ("ObjectEvent", "AggregationEvent")
# Each CBV business step, the ledger's kinds that export with it (a label reprint: `encoding`).
STEP_KINDS: dict[str, set[str]] = {}
for _kind, _action in ACTIONS.items():
    STEP_KINDS.setdefault(_action.epcis[0], set()).add(_kind.value)
STEP_KINDS.setdefault(REPRINT[0], set()).add("commission")


@bp.route("/epcis/capture", methods=["POST"])
@roles_required(*WRITE_ROLES)
def epcis_capture():
    """Take an EPCIS 2.0 document to capture: 202 and the job (Location: its address)."""
    if request.headers.get("GS1-Capture-Error-Behaviour", "proceed").strip().lower() != "proceed":
        return error_response(
            400,
            "invalid_request",
            _("Only the proceed capture error behaviour is offered: a refused event keeps its alert."),
        )
    body = read_body(CAPTURE_MAX_BYTES)
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if request.mimetype not in ("application/json", "application/ld+json") or charset != "utf-8":
        raise BodyError(
            415, "unsupported_media_type", _("Send the document as JSON-LD (Content-Type: application/ld+json).")
        )
    check_shape(body, max_values=60 * MAX_EVENTS + 2 * MAX_BOXES, max_containers=20 * MAX_EVENTS)
    actor = current_user._get_current_object()
    waiting = db.session.scalar(
        select(func.count())
        .select_from(CaptureJob)
        .where(CaptureJob.submitted_by_id == actor.id, CaptureJob.state.in_((JobState.QUEUED, JobState.RUNNING)))
    )
    if waiting >= MAX_WAITING:  # one sender cannot fill the queue (each job may hold 4 MB)
        return error_response(
            429,
            "too_many_requests",
            _("%(n)s of your documents are still being captured: send more when they are done.", n=waiting),
            headers={"Retry-After": "60"},
        )
    try:
        job = in_transaction(lambda: submit(db.session, actor, body, locale=str(get_locale())))
    except DocumentProblem as problem:
        return error_response(400, "invalid_request", str(problem))
    enqueue(db.session, job)  # a worker captures it (at once with JOBS_IMMEDIATE)
    url = url_for("api.epcis_capture_job", capture_id=job.capture_id)
    return capture_json(job, url=url), 202, {"Location": url}


@bp.route("/epcis/capture/<capture_id>")
@roles_required(*WRITE_ROLES)
def epcis_capture_job(capture_id: str):
    """One capture job of the caller's: its state and each refused or unreadable event."""
    job = None
    if len(capture_id) == 32 and capture_id.isascii() and capture_id.isalnum():
        job = db.session.scalar(select(CaptureJob).where(CaptureJob.capture_id == capture_id.lower()))
    if job is None or job.submitted_by_id != current_user.id:
        return error_response(404, "not_found", _("No capture job with that id of yours."))
    return capture_json(job, url=url_for("api.epcis_capture_job", capture_id=job.capture_id))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return str(status)


@bp.after_app_request
def speak_the_binding(response: Response) -> Response:
    """On the EPCIS endpoints: the binding's version headers, and each error as an RFC 7807 problem that
    keeps Jejak's `error` member (its code and message, in the caller's language)."""
    if not request.path.startswith(EPCIS_PREFIX):  # by path: a 404 or 405 of routing names no endpoint
        return response
    response.headers["GS1-EPCIS-Version"] = "2.0.0"
    response.headers["GS1-CBV-Version"] = "2.0.0"
    status = response.status_code
    if status < 400 or not response.is_json or response.is_streamed:
        return response
    body = response.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return response
    # RFC 7807's about:blank where the binding names no exception (405: this path does not take the method)
    name, title = PROBLEMS.get(status, (None, _phrase(status)))
    if status == 400 and request.endpoint == "api.epcis_events":
        name, title = "QueryParameterException", "A query parameter is not valid"
    if status == 413 and request.endpoint == "api.epcis_events":
        name, title = "QueryTooLargeException", "The query is too large"
    problem = {
        "type": f"epcisException:{name}" if name else "about:blank",
        "title": title,
        "status": status,
        "detail": body["error"].get("message", ""),
        **body,
    }
    response.set_data(json.dumps(problem, ensure_ascii=False))
    response.mimetype = "application/problem+json"
    return response


class QueryProblem(ValueError):
    """A query parameter the query cannot take (400, as EPCIS's QueryParameterException)."""


def _values(name: str) -> list[str]:
    values = [v.strip() for raw in request.args.getlist(name) for v in raw.split(",") if v.strip()]
    if len(values) > MAX_LIST:
        raise QueryProblem(_("At most %(n)s values for %(name)s.", n=MAX_LIST, name=name))
    return values


def _time(name: str) -> datetime | None:
    text = request.args.get(name)
    if text is None:
        return None
    if (moment := parse_utc(text)) is not None:
        return moment
    raise QueryProblem(_("%(name)s must be a time with its offset (RFC 3339).", name=name))


def _number(name: str, default: int, largest: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 19 and 0 < int(text) <= largest):
        raise QueryProblem(_("%(name)s must be a whole number from 1 to %(n)s.", name=name, n=largest))
    return int(text)


def _ssccs(name: str) -> list[str] | None:
    """The boxes' SSCCs the EPCs name (an EPC that names no box matches nothing), or None if not asked."""
    found = [sscc_of(epc) or "" for epc in _values(name)]  # "": no box has it
    return found or None


def _conditions() -> tuple[list, set[str] | None]:
    """The query's SQL conditions, and the exact business steps to keep (None: any; a label's first print
    and its reprints are one kind of event in the ledger, told apart as the export writes them)."""
    unknown = sorted(set(request.args) - set(QUERY_PARAMETERS))
    if unknown:
        raise QueryProblem(
            _(
                "Unknown query parameter %(name)s; known: %(known)s.",
                name=unknown[0][:40],
                known=", ".join(QUERY_PARAMETERS),
            )
        )
    t = CustodyEvent.__table__
    conditions = [box_clause(current_user)]
    for name, column, op in (
        ("GE_eventTime", t.c.scanned_at, "ge"),
        ("LT_eventTime", t.c.scanned_at, "lt"),
        ("GE_recordTime", t.c.recorded_at, "ge"),
        ("LT_recordTime", t.c.recorded_at, "lt"),
    ):
        moment = _time(name)
        if moment is not None:
            conditions.append(column >= moment if op == "ge" else column < moment)
    steps = None
    if wanted := _values("EQ_bizStep"):
        steps = {short_name(step) for step in wanted}
        conditions.append(t.c.kind.in_(sorted({k for s in steps for k in STEP_KINDS.get(s, ())}) or [""]))
    if types := set(_values("eventType")):  # another type than Jejak's two matches nothing
        aggregation = (t.c.kind == "pack") & Packet.sscc.is_not(None)  # as the export writes a pack event
        if types >= set(EVENT_TYPES):
            pass
        elif "AggregationEvent" in types:
            conditions.append(aggregation)
        elif "ObjectEvent" in types:
            conditions.append(~aggregation)
        else:
            conditions.append(false())
    if places := _values("EQ_readPoint"):
        codes = [site_code(db.session, place) for place in places]
        conditions.append(t.c.site_id.in_(select(Site.id).where(Site.code.in_([c for c in codes if c]))))
    if (ssccs := _ssccs("MATCH_epc")) is not None:  # epcList: an ObjectEvent's boxes
        conditions += [Box.sscc.in_(ssccs), ~((t.c.kind == "pack") & Packet.sscc.is_not(None))]
    if (ssccs := _ssccs("MATCH_anyEPC")) is not None:
        conditions.append(or_(Box.sscc.in_(ssccs), Packet.sscc.in_(ssccs)))
    return conditions, steps


@bp.route("/epcis/events")
@limiter.limit(lambda: current_app.config["EPCIS_QUERY_RATE_LIMIT"])
@roles_required()
def epcis_events():
    """The simple event query over the events of boxes in the caller's area, as an EPCISQueryDocument."""
    try:
        conditions, steps = _conditions()
        per_page = _number("perPage", PER_PAGE, MAX_PER_PAGE)
        after = _number("nextPageToken", 0, 2**63 - 1) if "nextPageToken" in request.args else 0
    except QueryProblem as problem:
        return error_response(400, "invalid_request", str(problem))
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    events, next_after = query_events(db.session, conditions, after=after, limit=per_page, base=base)
    events = [e for e in events if steps is None or e["bizStep"] in steps]
    document = {
        "@context": [CONTEXT, namespaces(base)],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": utc_text(datetime.now(UTC)),
        "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": events}}},
    }
    headers = {}
    if next_after is not None:
        args = {k: request.args.getlist(k) for k in request.args if k != "nextPageToken"}
        headers["Link"] = f'<{url_for("api.epcis_events", **args, nextPageToken=next_after)}>; rel="next"'
    response = current_app.json.response(document)
    # JSON, as GS1's OpenAPI document of the binding says, or JSON-LD to a client that asks for it
    kind = request.accept_mimetypes.best_match(("application/json", "application/ld+json"))
    response.mimetype = kind or "application/json"
    response.vary.add("Accept")
    response.headers.update(headers)
    return response
