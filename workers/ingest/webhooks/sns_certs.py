"""Where SNS signing certificates come from: fetched once per URL over https, then cached.

The verification itself (``sns.verify``) only asks a ``CertificateSource`` for bytes; this
is the production one. It refuses any URL ``sns.trusted_cert_url`` refuses *before*
connecting, bounds the answer's size and the wait, and keeps a small cache, since SNS
signs months of messages with one certificate. Tests pass a local dict instead and never
touch the network.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from workers.ingest.webhooks.sns import CertificateSource, SignatureRefused, trusted_cert_url

__all__ = ["CachedCertificates", "https_get", "local_store"]

_MAX_CERT_BYTES = 16 * 1024


def https_get(url: str, timeout: float = 5.0) -> bytes:
    """GET a certificate over https, verifying the server; redirects are not followed."""
    parts = urlsplit(url)
    connection = http.client.HTTPSConnection(
        parts.hostname or "", 443, timeout=timeout, context=ssl.create_default_context()
    )
    try:
        connection.request("GET", parts.path, headers={"User-Agent": "suppressor-webhooks"})
        answer = connection.getresponse()
        if answer.status != 200:
            raise SignatureRefused(f"the signing certificate URL answered {answer.status}")
        data: bytes = answer.read(_MAX_CERT_BYTES + 1)
    finally:
        connection.close()
    if len(data) > _MAX_CERT_BYTES:
        raise SignatureRefused("the signing certificate is too large")
    return data


class CachedCertificates:
    """A ``CertificateSource`` that fetches each trusted URL once and keeps the last ``size``."""

    def __init__(self, fetch: Callable[[str], bytes] = https_get, size: int = 64) -> None:
        self._fetch = fetch
        self._size = size
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, url: str) -> bytes:
        if not trusted_cert_url(url):
            raise SignatureRefused("SigningCertURL is not an https URL on an SNS host")
        with self._lock:
            found = self._cache.get(url)
            if found is not None:
                self._cache.move_to_end(url)
                return found
        try:
            data = self._fetch(url)
        except SignatureRefused:
            raise
        except (OSError, ValueError, http.client.HTTPException) as error:  # InvalidURL too
            raise SignatureRefused(f"could not fetch the signing certificate: {error}") from None
        with self._lock:
            self._cache[url] = data
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return data


def local_store(certificates: Mapping[str, bytes]) -> CertificateSource:
    """A source over certificates already at hand (tests, air-gapped set-ups)."""

    def get(url: str) -> bytes:
        """The stored certificate of ``url``; an unknown URL is refused."""
        found = certificates.get(url)
        if found is None:
            raise SignatureRefused("no such signing certificate in the local store")
        return found

    return get
