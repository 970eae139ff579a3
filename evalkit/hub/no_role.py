"""The page a signed-in person with no role sees: one line saying so, and a way to sign out.

The hub starts this instead of a Jupyter server for such a person (as their own system user): it serves that one
page on every path of their server's address and nothing else, no kernel, no workspace. Run as
``python -m evalkit.hub.no_role``; it listens where ``$JUPYTERHUB_SERVICE_URL`` says.
"""
from __future__ import annotations

import html
import os
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["page", "main"]


def page(username: str, hub_prefix: str = "/hub/") -> str:
    """The page's HTML.

    Examples
    --------
    >>> "sme.new holds no role in this workspace" in page("sme.new")
    True
    """
    name = html.escape(username)
    logout = html.escape(urllib.parse.urljoin(hub_prefix, "logout"))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>No role</title>"
        "<style>body{font:18px/1.5 system-ui,sans-serif;margin:15vh auto;max-width:44em;padding:0 1em;color:#222}"
        "a{color:#1a5fb4}</style></head><body>"
        f"<p class='ek-no-role'>You are signed in as <b>{name}</b>, but {name} holds no role in this workspace yet: "
        "ask an admin of the certification office to give you one, then "
        f"<a href='{logout}'>sign out</a> and in again.</p></body></html>")


class _Handler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 - the http.server API
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(self.body)

    do_HEAD = do_GET

    def log_message(self, format, *args):  # noqa: A002 - quiet: the hub logs the requests
        pass


def main() -> None:
    url = urllib.parse.urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8888/"))
    hub_prefix = os.environ.get("JUPYTERHUB_BASE_URL", "/") + "hub/"
    _Handler.body = page(os.environ.get("JUPYTERHUB_USER", "?"), hub_prefix).encode()
    server = ThreadingHTTPServer((url.hostname or "127.0.0.1", url.port or 8888), _Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
