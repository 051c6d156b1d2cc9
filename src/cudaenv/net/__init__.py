"""The network: GET over HTTP with one retry path, limits on every answer, and credentials.

``http`` is the one HTTP layer every request goes through (retries, redirects, the counts a
status line shows), over ``transport`` (``http.client``: keep-alive connections shared by
threads, TLS, gzip; ``pool`` its connections, ``response`` one answer, ``decoding`` the
body inflated a bounded piece at a time, ``watchdog`` a request cut past its deadline,
``httperrors`` what can fail, ``proxies`` the environment's proxies). ``limits`` holds how much
and how long one answer may take, ``failures`` the sentences for an answer no retry changes,
``auth`` the logins found as pip and uv find them, sent only to their host. The index client
(:mod:`cudaenv.index`) and the wheelhouse (:mod:`cudaenv.wheelhouse`) use it; it knows nothing
of project pages, METADATA or locks.
"""

from __future__ import annotations

__all__: list[str] = []
