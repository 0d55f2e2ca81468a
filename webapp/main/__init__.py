"""Home pages per role, language choice and health check."""
