"""The multi-user set-up: JupyterHub for a workspace (docs/operators.md).

- :mod:`.config`: the hub's configuration as code (:class:`~.config.HubSettings`, :func:`~.config.apply`).
- :mod:`.spawner`: each person's server, as their own system user, on their role's page.
- :mod:`.authenticator`: signing in (NativeAuthenticator; sign-up approved by an admin).
- :mod:`.people`: system users and the database URL a person's kernel opens.
- :mod:`.run`: preparing and starting the hub; :mod:`.demo` and :mod:`.postgres`: `evalkit hub --demo`.
- :mod:`.accounts`: accounts made from the command line; :mod:`.no_role`: the page of a person with no role.

Import the submodules themselves: JupyterHub is imported only where it is needed.
"""
