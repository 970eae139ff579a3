"""The hub's configuration as code: :class:`HubSettings` (what `evalkit hub` was asked for and found) and
:func:`apply`, which turns them into JupyterHub's configuration.

`evalkit hub` writes the settings to ``<state>/settings.json`` and starts JupyterHub with the configuration file
``jupyterhub_config/jupyterhub_config.py`` beside this module, loaded by path; that file only reads the settings
and calls :func:`apply`. What the hub does, in short:

- listens on ``ip:port`` (127.0.0.1 by default: the organisation's TLS proxy is in front, docs/operators.md); the
  proxy is configurable-http-proxy from .hub/node, the hub's API on another free localhost port;
- signs people in with :class:`~evalkit.hub.authenticator.EvalkitAuthenticator` (NativeAuthenticator: passwords
  hashed with bcrypt, sign-up only with an admin's approval; ``admin_users`` are the workspace's admins);
- starts one server per signed-in person with :class:`~evalkit.hub.spawner.EvalkitSpawner`, as their own system
  user, landing on their role's page, and stops it when they sign out or it has been idle for ``idle_timeout``
  seconds (the jupyterhub-idle-culler service);
- on PostgreSQL, runs `evalkit settle --watch` as a service (as the database's owner): it compares raters once all
  are final, which no rater's own database role may do.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..access import USERNAME_PATTERN

__all__ = ["CONFIG_FILE", "HubSettings", "load_settings", "save_settings", "apply"]

#: JupyterHub's configuration file, loaded by path (`jupyterhub -f CONFIG_FILE`).
CONFIG_FILE = Path(__file__).resolve().parent / "jupyterhub_config" / "jupyterhub_config.py"


@dataclass
class HubSettings:
    """Everything the hub's configuration is made from (saved as JSON beside the hub's database).

    ``workspace``: the owner's database URL (PostgreSQL) or the workspace folder (SQLite). ``person_url``: the URL
    template a person's kernel opens, ``{username}`` filled in (default: the owner's URL with the person as user,
    over the same Unix socket). ``python``: the interpreter people's servers run (readable by every user).
    ``extra_config``: the operator's own JupyterHub configuration file, loaded after evalkit's (e.g. signing in
    with the organisation's OAuth or LDAP, docs/operators.md).
    """

    workspace: str
    state_dir: str
    python: str
    proxy: str
    notebooks: str
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    idle_timeout: int = 3600
    person_url: str | None = None
    sqlite_group: str | None = None
    admins: list[str] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)
    settle: bool = True
    log_level: str = "INFO"
    extra_config: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return "://" not in self.workspace or self.workspace.startswith("sqlite")

    @property
    def hub_dir(self) -> Path:
        """The hub's private folder: its database (accounts, password hashes) and cookie secret."""
        return Path(self.state_dir) / "hub"


def save_settings(settings: HubSettings, path: Path) -> None:
    path.write_text(json.dumps(dataclasses.asdict(settings), indent=2, sort_keys=True))
    path.chmod(0o600)


def load_settings(path) -> HubSettings:
    return HubSettings(**json.loads(Path(path).read_text()))


def apply(c, settings: HubSettings) -> None:
    """Configure JupyterHub (``c``, its config object) for ``settings``."""
    from .authenticator import EvalkitAuthenticator
    from .spawner import EvalkitSpawner

    hub_dir = settings.hub_dir
    c.JupyterHub.ip = settings.ip
    c.JupyterHub.port = settings.port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = settings.hub_port
    c.JupyterHub.db_url = f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(hub_dir / "jupyterhub_cookie_secret")
    c.JupyterHub.log_level = settings.log_level
    c.JupyterHub.admin_access = False  # an admin may not open anyone else's server
    c.JupyterHub.shutdown_on_logout = True  # signing out stops the person's server and its kernels
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.allow_named_servers = False
    c.ConfigurableHTTPProxy.command = [settings.proxy]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.should_start = True

    c.JupyterHub.authenticator_class = EvalkitAuthenticator
    c.Authenticator.admin_users = set(settings.admins)
    c.Authenticator.allow_all = True  # whoever NativeAuthenticator lets in (approved by an admin)
    c.Authenticator.username_pattern = f"^{USERNAME_PATTERN.pattern}$"
    c.NativeAuthenticator.open_signup = False
    c.NativeAuthenticator.minimum_password_length = 10
    c.NativeAuthenticator.check_common_password = True
    c.NativeAuthenticator.allowed_failed_logins = 5
    c.NativeAuthenticator.seconds_before_next_try = 600
    c.EvalkitAuthenticator.workspace = settings.workspace
    c.EvalkitAuthenticator.sqlite_group = settings.sqlite_group or ""
    c.EvalkitAuthenticator.person_url = settings.person_url or ""
    c.JupyterHub.load_groups = {role: {"users": users} for role, users in sorted(settings.groups.items())}

    c.JupyterHub.spawner_class = EvalkitSpawner
    c.EvalkitSpawner.workspace = settings.workspace
    c.EvalkitSpawner.person_url = settings.person_url or ""
    c.EvalkitSpawner.sqlite_group = settings.sqlite_group or ""
    c.EvalkitSpawner.python = settings.python
    c.EvalkitSpawner.lab_settings = str(Path(settings.state_dir) / "lab-settings")
    c.Spawner.notebook_dir = settings.notebooks
    c.Spawner.env_keep = ["LANG", "LC_ALL"]  # nothing else of the hub's environment reaches a person's server
    c.Spawner.http_timeout = 120  # a morning's sign-ins all at once on a small server: give each start time
    c.Spawner.start_timeout = 180
    c.LocalProcessSpawner.interrupt_timeout = 10  # a server stops in a few seconds; the hub's shutdown waits
    c.LocalProcessSpawner.term_timeout = 10

    services, roles = [], []
    if settings.idle_timeout:
        services.append({"name": "idle-culler", "command": [
            sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={settings.idle_timeout}",
            f"--cull-every={max(30, min(300, settings.idle_timeout // 4))}"]})
        roles.append({"name": "idle-culler", "services": ["idle-culler"],
                      "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]})
    if settings.settle and not settings.is_sqlite:
        # Compares the raters of a submission once all are final: a rater's own database role cannot read the
        # other raters' scores, the owner can (root is the owner through the ident map).
        services.append({"name": "settle", "command": [
            sys.executable, "-m", "evalkit.cli", "settle", "--watch", "-w", settings.workspace]})
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
