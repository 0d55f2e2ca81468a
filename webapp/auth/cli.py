"""`flask users ...`: accounts and API tokens from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp.auth.models import Role, User
from webapp.auth.services import (
    AccountError,
    count_live_tokens,
    create_user,
    get_user,
    issue_token,
    resolve_scope,
    revoke_tokens,
    validate_password,
)
from webapp.extensions import db

users_cli = click.Group("users", help="People: accounts, passwords and API tokens.")


def _fail(exc: AccountError) -> None:
    db.session.rollback()
    raise click.ClickException(str(exc))


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--scope", default="ID", show_default=True, help="ID (national), a region code or a site code.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "full_name", default="", help="The person's full name.")
@with_appcontext
def create_command(username: str, role: str, scope: str, password: str, full_name: str) -> None:
    """Add a user with a role and a scope."""
    try:
        user = create_user(
            db.session,
            username=username,
            role=role,
            scope=resolve_scope(db.session, scope),
            password=password,
            full_name=full_name,
        )
    except AccountError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Created {user.username} ({user.role}, scope {user.scope_label}).")


@users_cli.command("set-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def set_password_command(username: str, password: str) -> None:
    """Set a new password for a user."""
    try:
        user = get_user(db.session, username)
        validate_password(password)
    except AccountError as exc:
        _fail(exc)
    user.set_password(password)
    db.session.commit()
    click.echo(f"Password of {user.username} changed; every session they had open is ended.")
    # API tokens are not derived from the password and only an operator issues them, so they stay valid
    # (revoking them would stop the person's scanners mid-shift); say so, so it is never a surprise.
    tokens = count_live_tokens(db.session, user)
    if tokens:
        click.echo(f"Their {tokens} API token(s) still work; `flask users revoke-tokens {user.username}` revokes them.")


@users_cli.command("token")
@click.argument("username")
@click.option("--label", default="", help="What the token is for (a device, a script).")
@with_appcontext
def token_command(username: str, label: str) -> None:
    """Print a new bearer token for a user (shown once; stored hashed)."""
    try:
        user = get_user(db.session, username)
    except AccountError as exc:
        _fail(exc)
    if not user.active:
        raise click.ClickException(f"user {user.username} is disabled")
    secret = issue_token(db.session, user, label)
    db.session.commit()
    click.echo(secret)


@users_cli.command("revoke-tokens")
@click.argument("username")
@with_appcontext
def revoke_command(username: str) -> None:
    """Revoke every API token of a user."""
    try:
        user = get_user(db.session, username)
    except AccountError as exc:
        _fail(exc)
    count = revoke_tokens(db.session, user)
    db.session.commit()
    click.echo(f"Revoked {count} token(s) of {user.username}.")


@users_cli.command("list")
@with_appcontext
def list_command() -> None:
    """List users with their role, scope and state."""
    for user in db.session.scalars(select(User).order_by(User.username)):
        click.echo(
            f"{user.username:<20} {user.role:<11} {user.scope_label:<20} {'active' if user.active else 'disabled'}"
        )
