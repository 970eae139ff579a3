"""`python -m evalkit.cli`: the same as the `evalkit` command."""
import sys

from . import main

sys.exit(main())
