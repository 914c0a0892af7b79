"""The HTTP JSON API (``/v1``): agents' summaries, ops control, contacts, DNC, status.

An entry point like the CLI, served by the daemon in a thread (:mod:`.server`),
built by the composition root; every write goes through the database, so any
daemon serves any request. docs/api.md describes the endpoints and scopes.
"""
