"""Operator actions: campaign control, do-not-call entries and imports, requeue, overview."""
