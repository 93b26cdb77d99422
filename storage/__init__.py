"""Storage: SQLModel tables, engines and sessions, Alembic migrations (SQLite and PostgreSQL)."""
