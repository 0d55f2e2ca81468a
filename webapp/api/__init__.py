"""JSON API v1 for non-browser clients and the PWA (session cookie or bearer token)."""
