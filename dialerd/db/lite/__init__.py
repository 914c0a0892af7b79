"""The light verbs' database on SQLite through the standard library's ``sqlite3``: no SQLAlchemy.

``dialerd status``, ``dnc add`` and ``campaign pause|resume|stop`` run a few statements;
importing SQLAlchemy alone takes longer than their budget. On a plain SQLite file
(:func:`~dialerd.db.lite.database.sqlite_path`) they run the text those statements
compile to (``sql``, written by :mod:`dialerd.db.litegen` from
:mod:`dialerd.db.statements`), with values converted as the column types convert them
(``convert``), on a connection set up as the daemon's engine sets up its own (``database``).
"""
