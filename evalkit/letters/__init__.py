"""Result letters: what a letter says (``content``), the papermill batch that issues them (``batch``) and the
warm-kernel papermill engine it runs on (``engine``).

Nothing is imported here: a letter's kernel imports ``content`` alone, and must not pay for (or carry the state
of) the batch machinery.
"""
