"""SQLite storage: connection set-up, numbered migrations and an intent-named repository."""
