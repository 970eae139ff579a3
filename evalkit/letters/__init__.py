"""Result letters: what a letter says (``content``), the papermill batch that issues them (``batch``), its worker
processes (``worker``), the warm-kernel papermill engine they run on (``engine``) and a letter's files from its
executed template (``page``).

Nothing is imported here: a letter's kernel imports ``content`` alone, and must not pay for (or carry the state
of) the batch machinery; a worker imports ``worker``, ``engine`` and ``page``, none of which needs the database.
"""
