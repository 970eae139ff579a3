# JupyterHub's configuration under `evalkit hub`, loaded by path (`jupyterhub -f .../jupyterhub_config.py`; `c` is
# JupyterHub's config object). Everything is in evalkit.hub.config: this file only reads the settings that
# `evalkit hub` saved (their path is in $EVALKIT_HUB_SETTINGS) and applies them.
import os

from evalkit.hub.config import apply, load_settings

apply(c, load_settings(os.environ["EVALKIT_HUB_SETTINGS"]))  # noqa: F821
