"""PostgreSQL storage (asyncpg): the same Protocols as the SQLite repository, for deployments that set
``DATABASE_URL=postgresql://…``. Its own numbered migrations (``migrations.py``), applied under an advisory
lock; failures come out as ``bot.storage.errors`` types (``errors.py``); the store itself is ``store.py``.

Installed with the ``postgres`` extra (``pip install -e '.[postgres]'``); nothing else in the bot imports
asyncpg, and SQLite stays the default.
"""
