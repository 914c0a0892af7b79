"""The daemon's work: claim due dials, originate them, record results, reap the lost."""
