"""Alerts: raised by scans, packing and the periodic sweep; read and acted on by supervisors."""
