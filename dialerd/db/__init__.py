"""Database adapter: SQLAlchemy models, engine setup and migrations."""
