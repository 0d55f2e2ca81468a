"""The form that changes an item's norm."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange


class NormForm(FlaskForm):
    quantity = IntegerField(
        _l("Quantity"),
        validators=[InputRequired(), NumberRange(min=0, max=100_000)],
        description=_l("Per TPS, per ballot box or per voter, as the item's basis says."),
    )
    reserve_pct = DecimalField(
        _l("Reserve (%)"),
        places=2,
        validators=[InputRequired(), NumberRange(min=0, max=100)],
        description=_l("Added on top and rounded up per TPS: 2 for Pemilu ballots, 2.5 for a Pilkada."),
    )
    reason = StringField(
        _l("Reason for the change"),
        validators=[DataRequired(), Length(min=5, max=300)],
        description=_l("For example the KPU decision that sets the new norm."),
    )
