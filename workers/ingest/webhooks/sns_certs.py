"""Where SNS signing certificates come from: fetched once per URL over https, then cached.

The verification itself (``sns.verify``) only asks a ``CertificateSource`` for bytes; this
is the production one. It refuses any URL ``sns.trusted_cert_url`` refuses *before*
connecting, bounds the answer's size and the wait, and keeps a small cache, since SNS
signs months of messages with one certificate. A failed fetch is remembered too, for
``FAILURE_TTL`` seconds, and one URL is fetched by one caller at a time (the others wait
for its result): a flood of forged calls naming a certificate URL that does not answer
costs one fetch, not one per call. It blocks, so the API calls it from a thread. Tests
pass a local dict instead and never touch the network.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from workers.ingest.webhooks.sns import CertificateSource, SignatureRefused, trusted_cert_url

__all__ = ["FAILURE_TTL", "CachedCertificates", "https_get", "local_store"]

_MAX_CERT_BYTES = 16 * 1024
FAILURE_TTL = 60.0
"""Seconds a failed fetch is answered from memory (SNS's own retries come later than this)."""


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
    """A ``CertificateSource`` that fetches each trusted URL once and keeps the last ``size``.

    Failures are kept ``failure_ttl`` seconds (``clock`` is ``time.monotonic``, passed in
    so tests need not sleep); concurrent callers of one URL share one fetch.
    """

    def __init__(
        self,
        fetch: Callable[[str], bytes] = https_get,
        size: int = 64,
        failure_ttl: float = FAILURE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch, self._size, self._failure_ttl, self._clock = fetch, size, failure_ttl, clock
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._failed: OrderedDict[str, tuple[float, str]] = OrderedDict()  # url -> (until, why)
        self._fetching: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str) -> bytes:
        if not trusted_cert_url(url):
            raise SignatureRefused("SigningCertURL is not an https URL on an SNS host")
        with self._lock:
            found = self._lookup(url)
            if found is not None:
                return found
            gate = self._fetching.setdefault(url, threading.Lock())
        with gate:  # one fetch per URL; who waited here reads its result
            with self._lock:
                found = self._lookup(url)
            if found is not None:
                return found
            try:
                data = self._fetch(url)
            except (SignatureRefused, OSError, ValueError, http.client.HTTPException) as error:
                why = (
                    error.message
                    if isinstance(error, SignatureRefused)
                    else f"could not fetch the signing certificate: {error}"  # InvalidURL too
                )
                with self._lock:
                    self._remember(self._failed, url, (self._clock() + self._failure_ttl, why))
                    self._fetching.pop(url, None)
                raise SignatureRefused(why) from None
            with self._lock:
                self._remember(self._cache, url, data)
                self._failed.pop(url, None)
                self._fetching.pop(url, None)
        return data

    def _lookup(self, url: str) -> bytes | None:
        """The cached certificate; ``SignatureRefused`` for a failure still remembered."""
        found = self._cache.get(url)
        if found is not None:
            self._cache.move_to_end(url)
            return found
        failed = self._failed.get(url)
        if failed is not None:
            until, why = failed
            if self._clock() < until:
                raise SignatureRefused(why)
            del self._failed[url]
        return None

    def _remember(self, table: OrderedDict[str, Any], url: str, value: Any) -> None:
        table[url] = value
        table.move_to_end(url)
        while len(table) > self._size:
            table.popitem(last=False)


def local_store(certificates: Mapping[str, bytes]) -> CertificateSource:
    """A source over certificates already at hand (tests, air-gapped set-ups)."""

    def get(url: str) -> bytes:
        """The stored certificate of ``url``; an unknown URL is refused."""
        found = certificates.get(url)
        if found is None:
            raise SignatureRefused("no such signing certificate in the local store")
        return found

    return get
