"""The monitor's tests use the custody tests' small world (Kepulauan Seribu, one person per post)."""

from tests.custody.conftest import ledger, world  # noqa: F401  (fixtures)
