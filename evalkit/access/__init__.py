"""Who may do what: the roles recorded in the workspace, who is signed in, and, on PostgreSQL, each person's own
database role whose row-level security policies (migration 0007) follow the recorded roles.

- :mod:`.roles`: the roles, the page each one lands on, granting and revoking them, checking one before an action.
- :mod:`.identity`: who is signed in, from the hub or the database session, never from a list the user picks.
- :mod:`.database_roles`: PostgreSQL login roles for people (peer authentication, no password).
"""
from .database_roles import drop_person, provision_person
from .identity import AccessError, signed_in_user
from .roles import (LANDING, OFFICE_ROLES, ROLES, USERNAME_PATTERN, check_username, grant, holders, landing_page,
                    require, revoke, roles_of)

__all__ = ["ROLES", "OFFICE_ROLES", "LANDING", "USERNAME_PATTERN", "AccessError", "check_username", "grant", "revoke",
           "roles_of", "holders", "require", "landing_page", "signed_in_user", "provision_person", "drop_person"]
