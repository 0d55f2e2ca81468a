"""Forms for login and the admin pages (Flask-WTF, CSRF-protected)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from webapp.auth.models import Role
from webapp.geo.models import SiteKind


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    submit = SubmitField(_l("Log in"))


def role_choices() -> list[tuple[str, str]]:
    """Roles with their names in the person's language."""
    from webapp.core.names import role_label

    return [(r.value, role_label(r.value)) for r in Role]


class UserForm(FlaskForm):
    """A new account."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=3, max=64)])
    full_name = StringField(_l("Full name"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    scope = StringField(
        _l("Scope"),
        validators=[DataRequired(), Length(max=24)],
        description=_l("ID for the whole country, a region code (31.75.04) or a site code (PPS-3175041001)."),
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=256)])
    submit = SubmitField(_l("Add user"))


def site_kind_choices() -> list[tuple[str, str]]:
    """Site kinds with their names in the person's language."""
    from webapp.core.names import site_kind_label

    return [(k.value, site_kind_label(k.value)) for k in SiteKind]


class SiteForm(FlaskForm):
    """A new site; its code follows from its kind and region (or the printer number)."""

    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    region = StringField(
        _l("Region code"),
        validators=[Optional(), Length(max=13)],
        description=_l("Desa for a TPS or PPS, kecamatan for a PPK, kab/kota or province for a warehouse."),
    )
    number = IntegerField(
        _l("Number"),
        validators=[Optional(), NumberRange(min=1, max=999)],
        description=_l("TPS number, or the printer's number."),
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    dpt = IntegerField(_l("Voters (DPT)"), validators=[Optional(), NumberRange(min=0, max=1000)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)])
    submit = SubmitField(_l("Add site"))
