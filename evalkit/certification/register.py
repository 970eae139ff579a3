"""The public register of certified persons (ISO/IEC 17024): static HTML pages to publish on any web server, or to
open from a folder; self-contained (no file, font or script loaded from elsewhere).

:func:`publish` writes, into one folder:

* ``index.html``: the persons whose certificate is valid on the day (active and not expired), and only what a
  register shows of them: name, designation, certificate number, valid until. Never an e-mail, an organisation or
  a candidate id. A search box filters the rows as one types (a few lines of inline JavaScript, offline).
* ``verify/<CODE>.html`` for every certificate, whatever its state: valid, expired, suspended or withdrawn (a page
  published as valid turns to expired by itself once its date has passed, in the reader's browser).
* ``verify/index.html``: a form that opens a code's page, or says the code is unknown. It knows which codes have
  a page from a list of short hashes (24 bits of FNV-1a per code), not from the codes: the list does not hand out
  the pages of suspended and withdrawn certificates to whoever reads it, and a mistyped code is taken for a known
  one about once in 17 million per certificate (it then opens a page that does not exist).

The pages carry a Content-Security-Policy that lets only their own inline scripts run (by SHA-256), and every
value is escaped: a name such as ``<script>`` stays text. Each file is written to a temporary name and renamed into
place; the files are readable by everyone (``0644``): the register is public.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
from pathlib import Path

from ..outputs import OutputError, output_folder, remove_stale_temporaries, temporary_name
from ..store import Store
from ..templates import environment
from .certificates import CODE_ALPHABET, CODE_LENGTH, certificates, long_date
from .results import ResultError

__all__ = ["publish", "code_hash", "register_rows"]

_POLICY_MARK = "EVALKIT-CONTENT-SECURITY-POLICY"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
_CODE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
_HASH_HEX = 6  # 24 bits of each code's hash in verify/index.html


def code_hash(code: str) -> str:
    """The short hash of a verification code that ``verify/index.html`` lists (FNV-1a 32-bit, first 6 hex digits;
    its script computes the same).

    Examples
    --------
    >>> code_hash("ABCDEFGHJK"), code_hash("ABCDEFGHJM")
    ('cdc244', 'c7c23a')
    """
    value = 0x811C9DC5
    for byte in code.encode("ascii"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{value:08x}"[:_HASH_HEX]


def _with_policy(page: str) -> str:
    """The page with its Content-Security-Policy: only its own inline scripts (by SHA-256) may run."""
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'"
                      for s in _INLINE_SCRIPT.findall(page))
    policy = (f"default-src 'none'; script-src {hashes or chr(39) + 'none' + chr(39)}; style-src 'unsafe-inline'; "
              "img-src data:; base-uri 'none'; form-action 'none'")
    return page.replace(_POLICY_MARK, policy, 1)


def _write_public(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed into place, readable by everyone."""
    tmp = temporary_name(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None


def _folder(path: Path, what: str) -> Path:
    existed = path.is_dir()
    folder = output_folder(path, what)
    if not existed:
        folder.chmod(0o755)  # a public register: a web server must be able to read it
    remove_stale_temporaries(folder)
    return folder


def register_rows(store: Store, today: dt.date | None = None) -> list[dict]:
    """The register's rows as of ``today``: certificates that are valid (active, not expired), by name, each with
    only ``name``, ``designation``, ``number`` and ``valid_until``."""
    valid = certificates(store, state="valid", today=today)
    valid.sort(key=lambda c: (c["last_name"].casefold(), c["first_name"].casefold(), c["number"]))
    return [{"name": c["name"], "designation": c["designation"], "number": c["number"],
             "valid_until": long_date(c["valid_until"])} for c in valid]


def _bodies(found: list[dict]) -> str:
    names = sorted({c["body"] for c in found})
    return "Certifications by " + " and ".join(names) if names else "No certificates issued yet"


def publish(store: Store, out_dir, today: dt.date | None = None) -> Path:
    """Write the register as of ``today`` (default: today) into ``out_dir`` (created if missing, its parent must
    exist); returns the path of its ``index.html``.

    Examples
    --------
    >>> import tempfile
    >>> from evalkit.demo import init_workspace
    >>> store = init_workspace(tempfile.mkdtemp() + "/ws")
    >>> index = publish(store, tempfile.mkdtemp() + "/register", today=dt.date(2026, 12, 1))
    >>> sorted(p.relative_to(index.parent).as_posix() for p in index.parent.rglob("*.html"))
    ['index.html', 'verify/index.html']
    >>> "0 certified persons" in index.read_text()
    True
    """
    today = today or dt.date.today()
    found = certificates(store, today=today)
    for c in found:
        if not _CODE.match(c["code"]):  # a code is a file name here: only the alphabet's characters
            raise ResultError(f"certificate {c['number']} has the verification code {c['code']!r}, not one of "
                              f"{CODE_LENGTH} characters of {CODE_ALPHABET}; the register was not written")
    env = environment(True)
    common = {"policy": _POLICY_MARK, "published": long_date(today), "bodies": _bodies(found)}
    folder = _folder(Path(out_dir), "register")
    verify_folder = _folder(folder / "verify", "register")
    page = env.get_template("verify.html.j2")
    for c in found:
        cert = {"state": c["state"], "name": c["name"], "designation": c["designation"], "body": c["body"],
                "number": c["number"], "code": c["code"], "valid_until": long_date(c["valid_until"]),
                "valid_until_iso": c["valid_until"].isoformat()}
        _write_public(verify_folder / f"{c['code']}.html", _with_policy(page.render(**common, cert=cert)))
    known = sorted({code_hash(c["code"]) for c in found})
    _write_public(verify_folder / "index.html", _with_policy(page.render(**common, cert=None, known=known)))
    index = folder / "index.html"
    _write_public(index, _with_policy(env.get_template("register.html.j2").render(
        **common, rows=register_rows(store, today))))
    return index
