"""Pieces shared by more than one feature: database set-up, security, i18n, errors."""
