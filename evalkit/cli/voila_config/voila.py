# Voila's configuration under `evalkit serve`, loaded through --Voila.config_file_paths (`c` is Voila's config).

import os

from evalkit.cli.serve import MAX_PAGES_ENV, CandidateGate, issue_xsrf_cookie

# Voila's page asks the server to shut its kernel down when the tab closes, sending the `_xsrf` cookie; Voila never
# sets that cookie, so the request was refused and every closed tab left its kernel (~84 MB) running.
c.VoilaConfiguration.prelaunch_hook = issue_xsrf_cookie  # noqa: F821

# `evalkit serve --candidates` (and only it) sets $EVALKIT_CANDIDATE_MAX_PAGES: there every page load is public, so
# the link's token is checked and the kernels running are counted before a kernel starts; a link that opens nothing
# gets 403 and a page beyond --max-pages gets 503, with no kernel (CandidateGate issues the `_xsrf` cookie too).
if os.environ.get(MAX_PAGES_ENV):
    c.VoilaConfiguration.prelaunch_hook = CandidateGate.from_environment()  # noqa: F821

# A kernel whose page went away without saying so (a crashed browser, a lost network) is stopped after 15 idle
# minutes; a page that is still open keeps its kernel however long the rater reads.
c.MappingKernelManager.cull_idle_timeout = 900  # noqa: F821
c.MappingKernelManager.cull_interval = 60  # noqa: F821
c.MappingKernelManager.cull_connected = False  # noqa: F821
