"""Request schemas of API v1. The endpoints validate with these and the OpenAPI document is built from them,
so every rule a model enforces is stated in its JSON Schema: a pattern, a bound, or a rule in `json_schema_extra`.

Values are checked as sent, not trimmed first, so the lengths the document states are the lengths the server
counts; the services trim what they look up (codes, site codes, receivers) themselves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from webapp.custody.actions import ACTIONS, EventKind
from webapp.custody.event import EARLIEST, FUTURE_TOLERANCE, SEAL_MAX, SEAL_PATTERN

MAX_BATCH = 1000
# PostgreSQL text cannot hold NUL: text that is stored is refused with it, as bad input, and says so.
NO_NUL = r"^[^\u0000]*$"
# A name printed on a BAST: not only whitespace.
NAME = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


def _integral(value: object) -> object:
    """JSON has one kind of number: 1915.0 is the integer 1915, as "type": "integer" says; 1915.5 is not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Seal = Annotated[str, Field(min_length=1, max_length=SEAL_MAX, pattern=SEAL_PATTERN)]
Action = Literal[tuple(kind.value for kind in EventKind)]  # type: ignore[valid-type]
# The actions that put seals on (and must name them) and those that name a receiver (custody/actions.py).
SEALING = [kind.value for kind, action in ACTIONS.items() if action.seals]
TO_RECEIVER = [kind.value for kind, action in ACTIONS.items() if action.receiver]
# Integers, strict otherwise ("7" and true are not integers); the bounds come before the validator, or
# pydantic writes them into the JSON Schema as "ge" and "le", which JSON Schema does not know.
DeviceSeq = Annotated[int, Field(ge=0, le=2**53), BeforeValidator(_integral)]
Accuracy = Annotated[int, Field(ge=0, le=100_000), BeforeValidator(_integral)]
SCANNED_AT_RULE = {
    "x-earliest": EARLIEST.isoformat().replace("+00:00", "Z"),
    "x-latest": "the server's clock plus one day",
}
# The rules between fields that ScanIn._consistent enforces, in JSON Schema.
SCAN_RULES = {
    "allOf": [
        {
            "if": {"required": ["action"], "properties": {"action": {"enum": SEALING}}},
            "then": {"required": ["seals"], "properties": {"seals": {"type": "array", "minItems": 1}}},
        },
        {
            "if": {"required": ["action"], "properties": {"action": {"enum": TO_RECEIVER}}},
            "then": {"required": ["to"], "properties": {"to": {"type": "string"}}},
            "else": {"properties": {"to": {"type": "null"}}},
        },
        {
            "if": {"required": ["lat"], "properties": {"lat": {"type": "number"}}},
            "then": {"required": ["lon"], "properties": {"lon": {"type": "number"}}},
        },
        {
            "if": {"required": ["lon"], "properties": {"lon": {"type": "number"}}},
            "then": {"required": ["lat"], "properties": {"lat": {"type": "number"}}},
        },
    ]
}


class ScanIn(BaseModel):
    """One scan of a box label at a site."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=SCAN_RULES)
    max_body: ClassVar[int] = 32 * 1024  # bytes; every field at its longest, escaped, is under 20 kB

    id: UUID = Field(description="Client-generated UUID; a replay with the same id returns the first answer.")
    code: str = Field(
        min_length=1,
        max_length=512,
        description="What the scanner read: Digital Link URI, SSCC, (00)SSCC or raw GS1-128.",
    )
    action: Action = Field(
        description="commission, pack, seal, dispatch, receive, inspect, open, reseal, damage, loss or void."
    )
    site: str = Field(
        min_length=3,
        max_length=24,
        pattern=NO_NUL,
        description="Site code where the scan happens, in the actor's scope.",
    )
    to: str | None = Field(
        default=None,
        min_length=3,
        max_length=80,
        pattern=NO_NUL,
        description="Dispatch only (and needed there): the next holder, a site code or courier:USERNAME.",
    )
    seals: list[Seal] | None = Field(
        default=None,
        max_length=20,
        description="Seal numbers seen (or put on, for seal and reseal, which need at least one).",
    )
    condition: Literal["good", "damaged", "wet", "tampered"] | None = None
    note: str | None = Field(default=None, max_length=1000, pattern=NO_NUL)
    witness: str | None = Field(
        default=None,
        min_length=2,
        max_length=120,
        pattern=NO_NUL,
        description="Required when seals differ from the recorded ones.",
    )
    scanned_at: AwareDatetime = Field(
        description="Device time of the scan, RFC 3339 with offset, from 2020-01-01T00:00:00Z up to one day "
        "past the server's clock (x-earliest, x-latest).",
        json_schema_extra=SCANNED_AT_RULE,
    )
    device_id: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    device_seq: DeviceSeq = Field(description="Per-device sequence number; scans are applied in this order.")
    lat: float | None = Field(default=None, ge=-90, le=90, description="Comes with lon.")
    lon: float | None = Field(default=None, ge=-180, le=180, description="Comes with lat.")
    accuracy: Accuracy | None = Field(default=None, description="GPS accuracy in metres.")
    handover: UUID | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ScanIn:
        now = datetime.now(UTC)
        if not EARLIEST <= self.scanned_at <= now + FUTURE_TOLERANCE:
            raise ValueError("scanned_at is not a plausible time for a scan")
        if self.action in SEALING and not self.seals:
            raise ValueError(f"{self.action} needs the seal numbers put on the box")
        if self.action in TO_RECEIVER and not self.to:
            raise ValueError(f"{self.action} needs `to`: the next holder")
        if self.action not in TO_RECEIVER and self.to is not None:
            raise ValueError("`to` is only for dispatch")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon come together")
        return self


class PackIn(BaseModel):
    """One packet scanned into one box at a packing station."""

    model_config = ConfigDict(extra="forbid", strict=True)
    max_body: ClassVar[int] = 16 * 1024

    box: str = Field(min_length=1, max_length=512, description="The box label as scanned (any accepted form).")
    packet: str = Field(min_length=1, max_length=512, description="The packet label as scanned.")
    carton: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="The printer's carton the packet was counted from (opened here by an `open` scan).",
    )
    site: str = Field(
        min_length=3, max_length=24, pattern=NO_NUL, description="The warehouse where the packing happens."
    )
    device_id: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    device_seq: DeviceSeq


class BatchIn(BaseModel):
    """Up to 1,000 scans from one device, applied in device order."""

    model_config = ConfigDict(extra="forbid", strict=True)
    # A scan is about 400 bytes (1.5 kB with a full note): 1,000 fit, the phone sends 200 at a time.
    max_body: ClassVar[int] = 1024 * 1024

    scans: list[ScanIn] = Field(min_length=1, max_length=MAX_BATCH)


class HandoverIn(BaseModel):
    """A sender opens a handover (the token is made on the phone, so scans can carry it offline)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    max_body: ClassVar[int] = 4 * 1024

    token: UUID = Field(description="The handover's token: dispatch and receive scans carry it as `handover`.")
    site: str | None = Field(
        default=None,
        min_length=3,
        max_length=24,
        pattern=NO_NUL,
        description="The sender's site (a courier hands over at the receiving site and sends none).",
    )
    to: str = Field(
        min_length=3, max_length=80, pattern=NO_NUL, description="The receiver: a site code or courier:USERNAME."
    )


class SignatureIn(BaseModel):
    """A signature drawn on the phone's screen."""

    model_config = ConfigDict(extra="forbid", strict=True)
    max_body: ClassVar[int] = 440 * 1024  # the image's 420,000 characters and the names

    role: Literal["sender", "receiver", "witness"]
    name: str = Field(
        min_length=2, max_length=120, pattern=NAME, description="The signer's name, printed under the signature."
    )
    organisation: str | None = Field(
        default=None, max_length=120, pattern=NO_NUL, description="A witness's body (Panwas, Polri...)."
    )
    image: str = Field(
        min_length=30,
        max_length=420_000,
        pattern=r"^data:image/png;base64,[A-Za-z0-9+/=]+$",
        description="PNG data URL.",
    )


class CloseIn(BaseModel):
    """Closing a BAST takes no fields (an empty body or `{}`)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    max_body: ClassVar[int] = 1024


class NoteIn(BaseModel):
    """Acknowledging or resolving an alert: a note (a resolution needs one)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    max_body: ClassVar[int] = 16 * 1024

    note: str = Field(default="", max_length=1000, pattern=NO_NUL)


class BenchFloorIn(BaseModel):
    """bench/scan_ingest.py's raw insert: which box, and the event's place in its chain."""

    model_config = ConfigDict(extra="forbid", strict=True)
    max_body: ClassVar[int] = 1024

    box_id: int = 0
    seq: int = 0
