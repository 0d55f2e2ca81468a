"""factory_boy factories over the real models (regions come from the imported table)."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from webapp.auth.models import Role, User
from webapp.extensions import db
from webapp.geo.models import Site, SiteKind

PASSWORD = "password123"


class BaseFactory(SQLAlchemyModelFactory):
    """Factories write into the test's session and flush."""

    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"  # requests begin their own write transactions

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        """What post-generation hooks set (a user's password) is committed too: a request's write
        transaction starts afresh and would not see it otherwise."""
        if create and results:
            db.session.commit()


class UserFactory(BaseFactory):
    """A user; national scope unless given a region or a site."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Faker("name", locale="id_ID")
    role = Role.SUPERVISOR.value
    password_hash = ""
    active = True

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)

    class Params:
        admin = factory.Trait(role=Role.ADMIN.value)
        disabled = factory.Trait(active=False)


class SiteFactory(BaseFactory):
    """A TPS in a given desa (region_code), numbered from 900 to keep clear of seeded ones."""

    class Meta:
        model = Site

    kind = SiteKind.TPS.value
    tps_number = factory.Sequence(lambda n: 900 + n % 99)
    region_code = "31.01.01.1001"
    code = factory.LazyAttribute(lambda o: f"TPS-{o.region_code.replace('.', '')}{o.tps_number:03d}")
    name = factory.LazyAttribute(lambda o: f"TPS {o.tps_number:03d}")
    dpt = 250
