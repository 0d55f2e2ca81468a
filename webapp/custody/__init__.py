"""Custody: the append-only, hash-chained ledger of scans, its rules, alerts and checkpoints."""
