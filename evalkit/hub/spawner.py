"""A person's server: :class:`EvalkitSpawner` starts it as their own system user, on their role's page.

Before each start it reads the person's roles from the workspace (not from anything the person can change):

- no role: a tiny server (:mod:`evalkit.hub.no_role`) that shows one line saying so, and nothing else;
- otherwise: their system user is made if missing, on PostgreSQL their database login role too
  (:func:`evalkit.access.provision_person`); the hub's groups are set to their roles; the server opens on their
  role's page (Voila's app, or JupyterLab for roles allowed it) with ``$EVALKIT_WORKSPACE`` naming the database as
  *them* (PostgreSQL, peer authentication over the Unix socket: no password anywhere) or the shared SQLite file.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Unicode

from ..access import landing_page, provision_person, roles_of
from .people import check_person_name, ensure_system_user, person_database_url
from .workspace import owner_store

__all__ = ["EvalkitSpawner", "landing_url", "server_args"]


def landing_url(landing: dict | None) -> str:
    """The path a person's server opens on, from :func:`evalkit.access.landing_page`.

    Examples
    --------
    >>> landing_url({"page": "score_submissions.ipynb", "lab": False, "role": "rater"})
    '/voila/render/score_submissions.ipynb'
    >>> landing_url({"page": "admin.ipynb", "lab": True, "role": "admin"})
    '/lab/tree/admin.ipynb'
    """
    if landing is None:
        return "/"
    return f"/lab/tree/{landing['page']}" if landing["lab"] else f"/voila/render/{landing['page']}"


def server_args(landing: dict, lab_settings: str | None = None) -> list[str]:
    """The single-user server's options for a person who lands on ``landing``: Voila's app pages without
    tracebacks, kernels on Unix sockets, idle kernels stopped after 15 minutes, no language-server scan; without
    ``lab``, no JupyterLab, notebook UI or terminal (Voila's pages and the kernel API only); with it, JupyterLab's
    defaults from ``lab_settings`` (no news pop-up over the page).

    Examples
    --------
    >>> "--ServerApp.terminals_enabled=False" in server_args({"page": "adjudicate.ipynb", "lab": False})
    True
    >>> any("jupyterlab=" in a for a in server_args({"page": "admin.ipynb", "lab": True}))
    False
    """
    # Kernels talk to their server over Unix sockets in the person's own runtime folder: over TCP any local user
    # could subscribe to a kernel's output channel (its messages are signed, not encrypted).
    args = ["--KernelManager.transport=ipc", "--VoilaConfiguration.show_tracebacks=False",
            "--MappingKernelManager.cull_idle_timeout=900", "--MappingKernelManager.cull_interval=60",
            "--MappingKernelManager.cull_connected=False", "--ServerApp.jpserver_extensions=jupyter_lsp=False"]
    if not landing["lab"]:
        args += ["--ServerApp.terminals_enabled=False", "--ServerApp.jpserver_extensions=jupyterlab=False",
                 "--ServerApp.jpserver_extensions=notebook=False", "--ServerApp.jpserver_extensions=nbclassic=False"]
    elif lab_settings:
        args.append(f"--LabApp.app_settings_dir={lab_settings}")
    return args


class EvalkitSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose start first checks the person's roles and prepares their accounts."""

    workspace = Unicode(help="the owner's database URL, or the SQLite workspace folder").tag(config=True)
    person_url = Unicode("", help="URL template of a person's database, {username} filled in").tag(config=True)
    sqlite_group = Unicode("", help="the system group that may open a SQLite workspace").tag(config=True)
    python = Unicode(help="the Python people's servers run (readable by every user)").tag(config=True)
    lab_settings = Unicode("", help="JupyterLab's defaults for people who may open it (overrides.json)").tag(
        config=True)

    def _prepare(self) -> dict | None:
        """Roles, accounts and groups, as the hub (root); returns the landing page or None for no role."""
        name = self.user.name
        store = owner_store(self.workspace)
        check_person_name(name, None if store.is_sqlite else store.engine.url.username)
        roles = roles_of(store, name)
        ensure_system_user(name, self.sqlite_group or None)
        landing = landing_page(roles)
        if landing is not None and not store.is_sqlite:
            provision_person(store, name)
        return landing | {"roles": sorted(roles)} if landing else None

    async def start(self):
        landing = await asyncio.to_thread(self._prepare)
        bindir = str(Path(self.python).parent)
        self.environment = {"PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin"}
        if landing is None:
            self.user.sync_groups([])
            self.log.info("%s holds no role: starting the one-line page", self.user.name)
            self.cmd = [self.python, "-m", "evalkit.hub.no_role"]
            self.args = []
            self.default_url = ""
        else:
            self.user.sync_groups(landing["roles"])
            if owner_store(self.workspace).is_sqlite:
                target = self.workspace  # the folder: every signed-in person's kernel opens the same file
            else:
                target = person_database_url(self.workspace, self.user.name, self.person_url or None)
            self.environment["EVALKIT_WORKSPACE"] = target
            self.cmd = [self.python, "-m", "jupyterhub.singleuser"]
            self.args = server_args(landing, self.lab_settings or None)
            self.default_url = landing_url(landing)
            self.log.info("%s (%s) lands on %s", self.user.name, ", ".join(landing["roles"]), self.default_url)
        return await super().start()
