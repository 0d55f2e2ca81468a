"""People: login, roles, scopes, admin pages and API tokens."""
