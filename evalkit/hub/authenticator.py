"""Signing in: NativeAuthenticator (passwords hashed with bcrypt, sign-up only with an admin's approval), with
evalkit's rules on top.

- A username must be one a person may have (:func:`evalkit.hub.people.refusal`): the sign-up page refuses
  ``postgres``, ``root``, an existing system account, or a name the system and the database cannot take.
- Approving a person at ``/hub/authorize`` also makes their system user (their server runs as it) and, on
  PostgreSQL, their database login role; withdrawing the approval takes the login role's LOGIN away.
- Whether a person is a hub admin follows the workspace's ``admin`` role at each sign-in.

To sign people in with the organisation's OAuth or LDAP instead, see docs/operators.md.
"""
from __future__ import annotations

import asyncio

from jupyterhub.scopes import needs_scope
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import ToggleAuthorizationHandler
from nativeauthenticator.orm import UserInfo
from tornado import web
from traitlets import Unicode

from ..access import drop_person, provision_person, roles_of
from .people import ensure_system_user, refusal
from .workspace import owner_store

__all__ = ["EvalkitAuthenticator", "ApprovalHandler"]


class ApprovalHandler(ToggleAuthorizationHandler):
    """``/hub/authorize/<name>``: approve (or withdraw) a sign-up, and make (or disable) the person's accounts.

    NativeAuthenticator toggles on a GET; a link on another site must not make an admin's browser approve
    someone, so a request the browser marks as cross-site is refused.
    """

    @needs_scope("admin:users")
    async def get(self, slug):
        if self.request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            raise web.HTTPError(403, "approvals are made from the hub's own /hub/authorize page")
        info = UserInfo.find(self.db, slug)
        if info is None:
            raise web.HTTPError(404, f"no sign-up named {slug!r}")
        authenticator = self.authenticator
        if not info.is_authorized:
            problem = authenticator.name_refusal(slug)
            if problem:
                raise web.HTTPError(400, problem)
            await asyncio.to_thread(authenticator.admit, slug)
            UserInfo.change_authorization(self.db, slug)
            self.log.info("%s approved %s", self.current_user.name, slug)
        else:
            UserInfo.change_authorization(self.db, slug)
            user = self.users.get(slug)
            if user is not None and user.running:
                await self.stop_single_user(user)
            await asyncio.to_thread(authenticator.withdraw, slug)
            self.log.info("%s withdrew the approval of %s", self.current_user.name, slug)
        self.redirect(self.hub.base_url + "authorize#" + slug)


class EvalkitAuthenticator(NativeAuthenticator):
    """NativeAuthenticator for a workspace: see the module's description."""

    workspace = Unicode(help="the owner's database URL, or the SQLite workspace folder").tag(config=True)
    sqlite_group = Unicode("", help="the system group that may open a SQLite workspace").tag(config=True)
    person_url = Unicode("", help="URL template of a person's database (a remote server)").tag(config=True)

    def _store(self):
        return owner_store(self.workspace)

    def name_refusal(self, username: str) -> str | None:
        store = self._store()
        return refusal(username, None if store.is_sqlite else store.engine.url.username)

    def validate_username(self, username):
        return super().validate_username(username) and self.name_refusal(username) is None

    def admit(self, username: str) -> None:
        """An admin approved ``username``: their system user, and on PostgreSQL their login role (peer
        authentication over the socket; a remote server's per-user credentials are the operator's to issue)."""
        ensure_system_user(username, self.sqlite_group or None)
        store = self._store()
        if not store.is_sqlite:
            provision_person(store, username)

    def withdraw(self, username: str) -> None:
        store = self._store()
        if not store.is_sqlite:
            drop_person(store, username)

    async def authenticate(self, handler, data):
        username = await super().authenticate(handler, data)
        if username is None:
            return None
        roles = await asyncio.to_thread(roles_of, self._store(), username)
        return {"name": username, "admin": "admin" in roles or username in self.admin_users}

    def get_handlers(self, app):
        return [(url, ApprovalHandler if url == r"/authorize/([^/]*)" else handler)
                for url, handler in super().get_handlers(app)]
