"""The form that starts a label print job."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp


def paper_field() -> SelectField:
    """The label paper: A4 sheets or a thermal printer (labels/render.py FORMATS)."""
    return SelectField(
        _l("Paper"),
        choices=[("a4", _l("A4 sheets, 4 A6 labels a page")), ("thermal", _l("Thermal printer, 100 x 150 mm"))],
        default="a4",
    )


class LabelJobForm(FlaskForm):
    region = StringField(
        _l("Region or TPS"),
        validators=[
            DataRequired(),
            Length(max=24),
            Regexp(r"^(\d{2}(\.\d{2}){0,2}(\.\d{4})?|TPS-\d{13})$", message=_l("A region code or a TPS code.")),
        ],
        description=_l("A kab/kota, kecamatan or desa code such as 31.75.01, or one TPS such as TPS-3175011001001."),
        filters=[lambda value: value.strip().upper() if value else value],
    )
    format = paper_field()
    site = StringField(
        _l("Printed at"),
        validators=[DataRequired(), Length(max=24)],
        description=_l("The warehouse or printer where the labels are printed and stuck on the boxes."),
        filters=[lambda value: value.strip().upper() if value else value],
    )
