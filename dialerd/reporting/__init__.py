"""Campaign reporting: queries over the SQL views (docs/database.md) and their renderers."""
