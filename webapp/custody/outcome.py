"""The one answer to every custody write: a scan, a packet packed into a box, a carton opened."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Outcome:
    """Accepted (with warnings), duplicate (the first answer again), or refused with a reason.

    `details` says what the person needs to know and nothing they may not see; `event` is the ledger line an
    accepted write appended; `missing` the packets a box still lacks (packing). `outsider`: the box lies
    outside the actor's area (a receipt refused as wrong_destination), so what is kept of the attempt belongs
    to the actor's site, not to the box, and the box's own region is not alerted by it.
    """

    verdict: str
    reason: str | None = None
    details: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    client_id: str = ""
    event: dict | None = None
    original_verdict: str | None = None
    outsider: bool = False
    missing: list[dict] = field(default_factory=list)

    @property
    def event_id(self) -> int | None:
        return self.event["id"] if self.event else None
