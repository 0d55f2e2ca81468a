"""The custody event, declared once.

Every other spelling of an event derives from `FIELDS`: the hashed view and its canonical bytes
(ledger.py), the custody_event row the writer inserts, the columns the verifier and the exports read,
the event as the API publishes it, the export line and the EPCIS mapping. docs/ledger.md lists the
hashed fields in this order; tests/custody/test_ledger_doc.py holds the two together.

Pure: no database, no Flask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

ENCODING_VERSION = 1
# What a scan may say, however it comes (the phone's API, an EPCIS capture): its time, from EARLIEST up to
# FUTURE_TOLERANCE past the server's clock; a seal number, SEAL_PATTERN, at most SEAL_MAX characters.
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)
SEAL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9\-/\.]*$"
SEAL_MAX = 40


def utc_text(moment: datetime) -> str:
    """RFC 3339 in UTC with exactly three decimals: 2026-04-01T07:30:00.123Z."""
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_utc(text: object) -> datetime | None:
    """An RFC 3339 time with its offset, in UTC; None for anything else (no offset, not a time, or a time
    whose UTC falls outside years 1 to 9999)."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        return moment.astimezone(UTC) if moment.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


def to_millis(moment: datetime) -> datetime:
    """UTC, to the millisecond: what the canonical encoding keeps of a time."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def coordinate_text(value: Decimal | float | None) -> str | None:
    """Coordinates as text with six decimals, so no float formatting differs between verifiers."""
    return None if value is None else f"{Decimal(value):.6f}"


def _seal_list(value) -> list[str]:
    return list(value or [])


# How a stored value becomes its canonical value (None: as stored).
ENCODINGS: dict[str, Callable | None] = {
    "text": None,
    "int": None,
    "time": utc_text,
    "coordinate": coordinate_text,
    "list": _seal_list,
}


@dataclass(frozen=True)
class Field:
    """One field of a custody event.

    name: its name in the hashed JSON and the export line; column: the custody_event column that holds it
    (None for the encoding version, which is not stored); encoding: a key of ENCODINGS; hashed: whether
    the event's hash covers it; ref: the column holds an id that the event names by this instead ("sscc",
    "site" code, "actor" username); api: its name in the API's event ("": not published there); nullable:
    it may be null; epcis: what it becomes in the EPCIS export (exports/epcis.py), if anything; optional:
    a hashed field added after events were first hashed, left out of the canonical bytes when null, so
    every event hashed before it existed keeps its hash (docs/ledger.md, section 3).
    """

    name: str
    column: str | None
    encoding: str = "text"
    hashed: bool = True
    ref: str | None = None
    api: str | None = None
    nullable: bool = False
    epcis: str | None = None
    optional: bool = False

    @property
    def api_name(self) -> str | None:
        return self.api if self.api is not None else self.name


FIELDS: tuple[Field, ...] = (
    Field("v", None, "int", api=""),
    Field("box", "box_id", ref="sscc", epcis="epcList"),
    Field("seq", "box_seq", "int"),
    Field("kind", "kind", epcis="bizStep"),
    Field("from", "from_holder", nullable=True, epcis="sourceList"),
    Field("to", "to_holder", nullable=True, epcis="destinationList"),
    Field("site", "site_id", ref="site", nullable=True, epcis="readPoint"),
    Field("actor", "actor_id", ref="actor"),
    Field("device", "device_id", api="device_id"),
    Field("device_seq", "device_seq", "int"),
    Field("client_id", "client_id"),
    Field("scanned_at", "scanned_at", "time", epcis="eventTime"),
    Field("recorded_at", "recorded_at", "time", epcis="recordTime"),
    Field("lat", "lat", "coordinate", nullable=True),
    Field("lon", "lon", "coordinate", nullable=True),
    Field("accuracy", "accuracy", "int", nullable=True),
    Field("seals", "seals", "list"),
    Field("condition", "condition", nullable=True),
    Field("note", "note", nullable=True),
    Field("witness", "witness", nullable=True),
    Field("handover", "handover", nullable=True),
    # a correction (kind `correct`) names the hash of the event it corrects; null (and so not hashed) otherwise
    Field("corrects", "corrects", nullable=True, optional=True),
    Field("prev_hash", "prev_hash", hashed=False),
    Field("hash", "hash", hashed=False, epcis="eventID"),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
BY_COLUMN: dict[str, Field] = {f.column: f for f in FIELDS if f.column}
# The fields an event's hash covers, in the order docs/ledger.md lists them.
HASHED_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.hashed)
# The hashed fields left out of the canonical bytes when null (added after the first events were hashed).
OPTIONAL_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.hashed and f.optional)
# The custody_event columns that hold an event, in FIELDS order (with `id` first where rows are read).
COLUMNS: tuple[str, ...] = tuple(f.column for f in FIELDS if f.column)
READ_COLUMNS: tuple[str, ...] = ("id", *COLUMNS)


def _hashed_view_function() -> Callable[[Mapping], dict]:
    """`hashed_view`, generated from FIELDS like the readers below: it runs once per scan written."""
    namespace: dict = {"_encode": {}}
    members = [f'"v": {ENCODING_VERSION}']
    for f in FIELDS[1:]:
        if not f.hashed:
            continue
        value = f'values.get("{f.name}")' if f.optional else f'values["{f.name}"]'
        if ENCODINGS[f.encoding] is not None:
            namespace["_encode"][f.name] = ENCODINGS[f.encoding]
            value = f'_encode["{f.name}"]({value})'
        members.append(f'"{f.name}": {value}')
    source = f"def hashed_view(values):\n    return {{{', '.join(members)}}}\n"
    exec(compile(source, "<hashed view>", "exec"), namespace)  # the source is built above from FIELDS alone
    function = namespace["hashed_view"]
    function.__doc__ = """The hashed fields of an event, canonically encoded, from its values by field name (refs
    resolved: `box` is the SSCC, `site` the site code, `actor` the username)."""
    return function


hashed_view = _hashed_view_function()


def reader(*, named: bool, decoders: Mapping[str, Callable | None] = ENCODINGS) -> Callable:
    """A function from a READ_COLUMNS row to the event's full view (the hashed fields plus id, prev_hash and
    hash), generated from FIELDS as dataclasses generates its methods: one dict display, no loop, because
    the verifier runs it for every event of the country. With `named`, the ref columns already hold names;
    otherwise it takes the maps id -> SSCC, site code and username (an unknown box id reads `box#ID`)."""
    namespace: dict = {"_decode": {}}
    members = [f'"v": {ENCODING_VERSION}', '"id": row[0]']
    for f in FIELDS:
        if f.column is None:
            continue
        value = f"row[{READ_COLUMNS.index(f.column)}]"
        if f.ref == "sscc" and not named:
            value = f'sscc.get({value}, f"box#{{{value}}}")'
        elif f.ref is not None and not named:
            value = f"{f.ref}.get({value})"
        elif decoders.get(f.encoding) is not None:
            namespace["_decode"][f.name] = decoders[f.encoding]
            value = f'_decode["{f.name}"]({value})'
        members.append(f'"{f.name}": {value}')
    arguments = "row" if named else "row, sscc, site, actor"
    source = f"def read({arguments}):\n    return {{{', '.join(members)}}}\n"
    exec(compile(source, f"<event reader named={named}>", "exec"), namespace)
    return namespace["read"]


# A row read with ids (the verifier), and one read with names joined in (exports, the API).
from_row = reader(named=False)
from_named_row = reader(named=True)


def stored_row(values: Mapping, ids: Mapping[str, int | None]) -> dict:
    """The custody_event row for an event given by field name: refs take the ids in `ids` ("sscc", "site",
    "actor"), every other column its value as given."""
    row = {}
    for f in FIELDS:
        if f.column is None:
            continue
        row[f.column] = ids[f.ref] if f.ref is not None else values.get(f.name) if f.optional else values[f.name]
    row["seals"] = list(row["seals"] or [])
    return row


def api_event(view: Mapping) -> dict:
    """An event's full view as the API publishes it (GET /api/v1/boxes/{sscc}/events)."""
    event = {"id": view["id"]}
    for f in FIELDS:
        if f.api_name:
            event[f.api_name] = view[f.name]
    return event


_JSON_TYPES = {
    "int": {"type": "integer"},
    "time": {"type": "string", "format": "date-time"},
    "coordinate": {"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{6}$"},
    "list": {"type": "array", "items": {"type": "string"}},
    "text": {"type": "string"},
}


def api_schema() -> dict:
    """The JSON Schema of `api_event`'s output (the OpenAPI document's Event)."""
    properties, required = {"id": {"type": "integer"}}, ["id"]
    for f in FIELDS:
        if not f.api_name:
            continue
        schema = dict(_JSON_TYPES[f.encoding])
        if f.nullable:
            schema["type"] = [schema["type"], "null"]
        else:
            required.append(f.api_name)
        properties[f.api_name] = schema
    return {"type": "object", "required": required, "properties": properties}


def export_event(view: Mapping) -> dict:
    """An event's full view as a line of the ledger export (`type` event)."""
    return {"type": "event", **view}
