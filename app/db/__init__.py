"""SQL storage: SQLModel tables, the async engine and sessions, repositories."""
