"""Exports for other systems: the ledger as EPCIS 2.0 (the ledger's own export is custody/export.py)."""
