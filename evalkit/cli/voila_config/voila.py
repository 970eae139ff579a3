# Voila's configuration under `evalkit serve`, loaded through --Voila.config_file_paths (`c` is Voila's config).

from evalkit.cli.serve import issue_xsrf_cookie

# Voila's page asks the server to shut its kernel down when the tab closes, sending the `_xsrf` cookie; Voila never
# sets that cookie, so the request was refused and every closed tab left its kernel (~84 MB) running.
c.VoilaConfiguration.prelaunch_hook = issue_xsrf_cookie  # noqa: F821

# A kernel whose page went away without saying so (a crashed browser, a lost network) is stopped after 15 idle
# minutes; a page that is still open keeps its kernel however long the rater reads.
c.MappingKernelManager.cull_idle_timeout = 900  # noqa: F821
c.MappingKernelManager.cull_interval = 60  # noqa: F821
c.MappingKernelManager.cull_connected = False  # noqa: F821
