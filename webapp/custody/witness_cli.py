"""`flask ledger witness ...`: what an observer organisation runs on its own machine (`witness-keygen`,
`witness`), and what an admin runs on the server to register witness keys (`witnesses add|list|retire`).

The witness's decision is `witnesses.witness_step`; this module only reads and writes its files and talks
HTTP (urllib, with timeouts). Exit codes of `flask ledger witness`: 0 cosigned and posted, 2 refused (the log
offered a checkpoint it must not cosign: rollback, split view, inconsistent, bad log signature), 1 any other
failure (network, files, the log's answer): nothing was cosigned then, or the post did not arrive.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from webapp.core.database import in_transaction
from webapp.custody.models import LedgerCosignature, LedgerWitness
from webapp.custody.notes import ED25519, NoteError, Verifier
from webapp.custody.witnesses import (
    MAX_NOTE_BYTES,
    WitnessError,
    WitnessRefused,
    load_private_key,
    new_witness_key,
    register_witness,
    retire_witness,
    witness_step,
)
from webapp.extensions import db

USER_AGENT = "jejak-witness/1"
MAX_ANSWER_BYTES = 1024 * 1024  # a checkpoint or a proof is a few KB; a larger answer is refused unread


# --- HTTP ---------------------------------------------------------------------------------------------


class Log:
    """The log's three endpoints, over urllib with a timeout; every failure is a WitnessError."""

    def __init__(self, base: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise WitnessError(f"--log must be the log's http(s) address, e.g. https://jejak.kpu.go.id, not {base!r}")
        self.base = base.rstrip("/") + "/api/v1/ledger"
        self.timeout = timeout

    def _request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        url = self.base + path
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json, text/plain"}
        if body is not None:
            headers["Content-Type"] = "text/plain; charset=utf-8"
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = response.read(MAX_ANSWER_BYTES + 1)
                status = response.status
        except urllib.error.HTTPError as exc:
            raise WitnessError(f"{method} {url}: HTTP {exc.code}{_error_text(exc)}") from None
        except urllib.error.URLError as exc:
            raise WitnessError(f"{method} {url}: the log cannot be reached ({exc.reason})") from None
        except TimeoutError:
            raise WitnessError(f"{method} {url}: no answer within {self.timeout:g} s") from None
        except OSError as exc:  # a connection reset or cut mid-answer
            raise WitnessError(f"{method} {url}: the connection failed ({exc})") from None
        if len(data) > MAX_ANSWER_BYTES:
            raise WitnessError(f"{method} {url}: the answer is larger than {MAX_ANSWER_BYTES:,} bytes")
        return status, data

    def checkpoint(self) -> str:
        _, data = self._request("GET", "/checkpoint")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise WitnessError("the log's checkpoint is not UTF-8 text") from None

    def consistency(self, first: int, second: int) -> list[bytes]:
        query = urllib.parse.urlencode({"from": first, "to": second})
        _, data = self._request("GET", f"/proof/consistency?{query}")
        try:
            answer = json.loads(data)
            if answer["from"] != first or answer["to"] != second:
                raise ValueError(f"a proof from {answer['from']} to {answer['to']}")
            return [base64.b64decode(item, validate=True) for item in answer["proof"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise WitnessError(f"the log's consistency proof from {first} to {second} is malformed ({exc})") from None

    def post(self, note: str) -> dict:
        status, data = self._request("POST", "/cosignatures", note.encode("utf-8"))
        try:
            return {"status": status, **json.loads(data)}
        except (ValueError, TypeError):
            return {"status": status}


def _error_text(exc: urllib.error.HTTPError) -> str:
    """The message of the log's JSON error envelope, if it sent one."""
    try:
        error = json.loads(exc.read(64 * 1024))["error"]
        return f": {error['code']}: {error['message']}"
    except Exception:
        return f" {exc.reason}"


# --- files --------------------------------------------------------------------------------------------


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace `path` with `text` so that a crash leaves either the old file or the new, never half of one."""
    directory = path.parent
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _read_text(path: Path, what: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WitnessError(f"cannot read the {what} {path}: {exc.strerror}") from None
    if len(data) > MAX_NOTE_BYTES:
        raise WitnessError(f"the {what} {path} is larger than a {what} can be")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessError(f"the {what} {path} is not UTF-8 text") from None


def _verifier(vkey: str, option: str) -> Verifier:
    try:
        verifier = Verifier.from_vkey(vkey)
    except NoteError as exc:
        raise WitnessError(f"{option}: {exc}") from None
    if verifier.kind != ED25519:
        raise WitnessError(f"{option}: that is not a log key (type 0x01); the log publishes it at /api/v1/ledger/key")
    return verifier


# --- the witness --------------------------------------------------------------------------------------


def run_witness(log_url: str, log_key: str, key_file: Path, state_file: Path, timeout: float, previous: tuple) -> str:
    """One round: fetch, decide, save, post. Returns what to print; raises WitnessError or WitnessRefused."""
    log_verifier = _verifier(log_key, "--log-key")
    previous_verifiers = tuple(_verifier(k, "--previous-log-key") for k in previous)
    name, private = load_private_key(_read_text(key_file, "key file"))
    # Only a missing file is a first run: an emptied or damaged one must not make the witness forget.
    state = _read_text(state_file, "state file") if state_file.exists() else None
    log = Log(log_url, timeout)
    offered = log.checkpoint()
    now = int(time.time())
    try:
        _, cosigned = witness_step(
            state, offered, log_verifier, log.consistency, private, name, now, state_verifiers=previous_verifiers
        )
    except WitnessRefused as exc:
        try:
            write_atomically(state_file.with_name(f"{state_file.name}.refused-{now}"), offered)
        except OSError as failure:
            exc.message += f" (the offered checkpoint could not be kept next to the state file: {failure.strerror})"
        raise
    # Saved before it is posted: once a cosignature may have left this machine, the witness must never
    # cosign a checkpoint inconsistent with it, even if the post fails or the machine stops right after.
    try:
        write_atomically(state_file, cosigned)
    except OSError as exc:
        raise WitnessError(f"cannot save {state_file}: {exc.strerror}; nothing was posted") from None
    answer = log.post(cosigned)
    size = cosigned.split("\n", 2)[1]
    kept = "kept it" if answer["status"] == 201 else "already had this witness's cosignature of it"
    return f"Cosigned the checkpoint of {size} events as {name}; the log {kept}. Saved in {state_file}."


@click.command("witness")
@click.option("--log", "log_url", required=True, help="The log's address, e.g. https://jejak.kpu.go.id")
@click.option("--log-key", required=True, help="The log's verifier key, as KPU publishes it (NAME+KEYID+KEY).")
@click.option(
    "--key-file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="This witness's private key (flask ledger witness-keygen).",
)
@click.option(
    "--state",
    "state_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the last cosigned checkpoint is kept (created on the first run).",
)
@click.option("--timeout", default=20.0, show_default=True, help="Seconds to wait for each answer of the log.")
@click.option(
    "--previous-log-key",
    "previous",
    multiple=True,
    help="A key the log signed with before it rotated its key: the saved checkpoint may be signed with it.",
)
def witness_command(log_url: str, log_key: str, key_file: Path, state_file: Path, timeout: float, previous) -> None:
    """Cosign the log's newest checkpoint if it extends the one cosigned last; refuse (exit 2) otherwise."""
    try:
        message = run_witness(log_url, log_key, key_file, state_file, timeout, previous)
    except WitnessRefused as exc:
        click.echo(f"REFUSED ({exc.reason}): {exc.message}.", err=True)
        click.echo(
            f"Nothing was cosigned or posted. The checkpoint offered is kept next to {state_file} "
            "(.refused-TIME) with the one cosigned before: together, signed by the log, they are the evidence.",
            err=True,
        )
        sys.exit(2)
    except WitnessError as exc:
        click.echo(f"FAILED: {exc}", err=True)
        sys.exit(1)
    click.echo(message)


@click.command("witness-keygen")
@click.argument("name")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the private key (default: NAME's last part + .key); never overwritten.",
)
def witness_keygen_command(name: str, key_file: Path | None) -> None:
    """Make a witness key named NAME (e.g. bawaslu.go.id/witness): the private key goes to a file readable by
    you alone; the verifier key printed is what the log's admin registers."""
    try:
        private_text, vkey = new_witness_key(name)
    except NoteError as exc:
        raise click.ClickException(f"the name: {exc}") from None
    path = key_file or Path(name.rstrip("/").rsplit("/", 1)[-1] + ".key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{path} exists: a key is never overwritten") from None
    except OSError as exc:
        raise click.ClickException(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(private_text + "\n")
    click.echo(f"Private key written to {path} (mode 0600): keep it on this machine, and a backup offline.")
    click.echo("Verifier key, for the log's admin (flask ledger witnesses add NAME VKEY --organisation ...):")
    click.echo(vkey)


# --- the server's register ----------------------------------------------------------------------------

witnesses_cli = click.Group("witnesses", help="Witness keys registered with this log: add, list, retire.")


def _in_transaction(work):
    try:
        return in_transaction(work)
    except WitnessError as exc:
        raise click.ClickException(str(exc)) from None


@witnesses_cli.command("add")
@click.argument("name")
@click.argument("vkey")
@click.option("--organisation", required=True, help="Who runs the witness, e.g. Bawaslu RI.")
@with_appcontext
def add_command(name: str, vkey: str, organisation: str) -> None:
    """Register a witness key (NAME+KEYID+KEY, type 0x04): its cosignatures are then kept and served."""
    witness = _in_transaction(lambda: register_witness(db.session, name, vkey, organisation, datetime.now(UTC)))
    click.echo(f"Registered witness {witness.name} ({witness.organisation}), key ID {witness.key_id}.")


@witnesses_cli.command("list")
@with_appcontext
def list_command() -> None:
    """Every witness registered, active or retired."""
    counts = dict(
        db.session.execute(
            select(LedgerCosignature.witness_id, func.count()).group_by(LedgerCosignature.witness_id)
        ).all()
    )
    witnesses = db.session.scalars(select(LedgerWitness).order_by(LedgerWitness.name)).all()
    if not witnesses:
        click.echo("No witness is registered.")
    for w in witnesses:
        state = "active" if w.active else f"retired {w.retired_at:%Y-%m-%d}"
        click.echo(f"{w.name}\t{w.organisation}\t{state}\t{counts.get(w.id, 0)} cosignatures\t{w.vkey}")


@witnesses_cli.command("retire")
@click.argument("name")
@with_appcontext
def retire_command(name: str) -> None:
    """Stop keeping and serving a witness's cosignatures (a lost or replaced key); its rows stay."""
    witness = _in_transaction(lambda: retire_witness(db.session, name, datetime.now(UTC)))
    click.echo(f"Retired witness {witness.name}: its cosignatures are no longer served.")


if __name__ == "__main__":  # `python -m webapp.custody.witness_cli --log ...` on a machine without the app's config
    witness_command()
