"""Long streamed downloads (the ledger and EPCIS exports): a few at once per machine, sent in chunks, and
a failure part-way logged and left visible to the client.

A slot is an exclusive `flock` on one of a few files in a directory of the machine, so the cap holds
across every gunicorn worker and thread of the app server, and the kernel frees a slot when its process
dies (a killed worker never leaks one). Two exports at once hold two threads and two database
connections; scans and pages keep the rest.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)
CHUNK_BYTES = 64 * 1024  # one write to the socket per chunk, not per line


class StreamSlot:
    """One of the machine's export slots, held until released (or until its process ends)."""

    def __init__(self, fd: int, number: int):
        self.fd: int | None = fd
        self.number = number

    def release(self) -> None:
        """Free the slot; harmless when already free."""
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)  # closing the file drops its lock

    def __del__(self):  # a response that was never read nor closed
        self.release()

    def __repr__(self) -> str:
        return f"<StreamSlot {self.number} {'held' if self.fd is not None else 'free'}>"


def take_slot(directory: str | Path, slots: int) -> StreamSlot | None:
    """A free slot among `slots` in `directory`, or None when every one is taken."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for number in range(slots):
        fd = os.open(directory / f"slot-{number}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # per open file: threads of one process compete too
        except BlockingIOError:
            os.close(fd)
            continue
        return StreamSlot(fd, number)
    return None


def in_chunks(lines: Iterable[str]) -> Iterator[str]:
    """Join short pieces of text into chunks of about CHUNK_BYTES characters."""
    pending: list[str] = []
    size = 0
    for line in lines:
        pending.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield "".join(pending)
            pending, size = [], 0
    if pending:
        yield "".join(pending)


def guarded(chunks: Iterable[str], slot: StreamSlot, what: str) -> Iterator[str]:
    """Stream `chunks` holding `slot`. A failure part-way is logged and raised again, so the server drops
    the connection without finishing the response: the client gets an error, and the file it has lacks
    its end line (or its closing brackets), never a clean-looking partial file."""
    sent = 0
    try:
        for chunk in chunks:
            sent += len(chunk)
            yield chunk
        log.info("%s: complete, %d characters", what, sent)
    except GeneratorExit:
        log.info("%s: the client went away after %d characters", what, sent)
        raise
    except Exception:
        log.exception("%s: failed after %d characters; the client gets no end line", what, sent)
        raise
    finally:
        slot.release()
