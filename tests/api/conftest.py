"""The API tests use the custody tests' small world (Kepulauan Seribu, one person per post)."""

from tests.custody.conftest import world  # noqa: F401  (fixture)
