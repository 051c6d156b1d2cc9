"""URLs as a lock writes them: without the ``user:password@`` of a private index.

The solver reads pages from the index URL it is given, often ``PIP_INDEX_URL`` with a token in
it, and every wheel URL on those pages carries the same ``user:password@``. A lock file and its
exports are shared with a team and committed, so no credential may be written into them: every
URL that goes into ``pylock.toml`` (wheel ``url``, ``index``, ``[tool.cudaenv] index-url``), the
hashed requirements file and ``environment.yml`` goes through :func:`without_auth` first.

This is pip's ``remove_auth_from_url`` (the userinfo split at the last ``@`` of the netloc, as
``split_auth_from_netloc`` does), not its ``redact_auth_from_url``: a ``****`` left in a lock
would be sent as a password. uv writes ``uv.lock`` the same way. Installing from a private index
still works, because credentials are found at install time, not in the lock: from the user's
index settings (``PIP_INDEX_URL`` with ``user:password@``...), netrc or keyring
(:mod:`cudaenv.net.auth`), and handed to the installer through a private netrc file. The one
function lives beside the credentials, in :mod:`cudaenv.net.auth`; it is named here too.
"""

from __future__ import annotations

from cudaenv.net.auth import without_auth

__all__ = ["without_auth"]
