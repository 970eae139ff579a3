# JupyterHub's configuration under `evalkit hub`, loaded by path (`jupyterhub -f .../jupyterhub_config.py`; `c` is
# JupyterHub's config object). Everything is in evalkit.hub.config: this file only reads the settings that
# `evalkit hub` saved (their path is in $EVALKIT_HUB_SETTINGS) and applies them, then the operator's own file if
# `evalkit hub --config FILE` named one (e.g. the organisation's OAuth or LDAP sign-in: docs/operators.md).
import os

from evalkit.hub.config import apply, load_settings

settings = load_settings(os.environ["EVALKIT_HUB_SETTINGS"])
apply(c, settings)  # noqa: F821
if settings.extra_config:
    load_subconfig(settings.extra_config)  # noqa: F821
