"""Alembic's migrations of the evalkit database: ``env.py``, the revision template and ``versions/``.

Nothing here is imported by evalkit itself: :mod:`evalkit.store.migrate` points Alembic at this folder, and
Alembic loads ``env.py`` and the revision files. A revision is a frozen copy of the schema change it makes, so it
never imports :mod:`evalkit.store.schema` (which follows the code, not the history).
"""
