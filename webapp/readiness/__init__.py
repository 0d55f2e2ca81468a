"""Readiness: counters of every box by stage, kept by triggers, and the dashboard that reads them."""
