"""The shared tier: cards kept on a server that many machines use, behind each machine's local cache.

A card's content key names it by everything that makes it, so one machine can
serve another's card safely. The tier is an existing engine reached through
obstore: S3-compatible object storage (``s3://bucket/prefix``; AWS, R2, MinIO,
Ceph) or a plain HTTP cache that takes ``GET``/``PUT`` of an object per key
(``https://host/path``; nginx with WebDAV, bazel-remote). Credentials come from
the environment (``AWS_ACCESS_KEY_ID``, ...) as the engine's own tools read them,
never from the URL.

Each object names its card and carries its digest (:mod:`social_cards.objects`),
signed when ``SOCIAL_CARDS_REMOTE_SECRET`` is set. An object that does not match is
never served: it is counted as rejected. With a secret, an unsigned or wrongly
signed object is rejected too, so a poisoned shared cache cannot plant a picture
on a site.

Faults never fail a run: every call has a short timeout, and after a few errors
the tier is off for the rest of the run, with one warning.
"""

from __future__ import annotations

import concurrent.futures as futures
import datetime as dt
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from .errors import SocialCardsError
from .objects import CLAIM_PREFIX, OBJECT_PREFIX, claim_path, decode_object, encode_object, object_path

__all__ = ["REMOTE_CACHE_ENV", "REMOTE_SECRET_ENV", "SharedTier", "open_shared", "shown_url"]

logger = logging.getLogger(__name__)

REMOTE_CACHE_ENV = "SOCIAL_CARDS_REMOTE_CACHE"
"""The shared tier's URL when no option names one."""
REMOTE_SECRET_ENV = "SOCIAL_CARDS_REMOTE_SECRET"  # noqa: S105 (the variable's name, not a secret)
"""A secret that signs every object written and is required of every object read."""

Mode = Literal["read-write", "read"]
MODES: tuple[Mode, ...] = ("read-write", "read")

CONNECT_TIMEOUT_S = 2
REQUEST_TIMEOUT_S = 5
ERRORS_BEFORE_OFF = 3
"""Errors (not misses) after which the tier is off for the rest of the run."""
CONCURRENT_REQUESTS = 32
"""Requests in flight at once; a request that waits for another machine's card holds one."""
CLAIM_TTL_S = 60
"""A claim older than this was left by a machine that stopped: another may draw the card."""
CLAIM_WAIT_S = 30
"""How long a machine waits for a card another machine claimed before drawing it itself."""
CLAIM_POLL_S = 0.2
UPLOADS_QUEUED = 256
"""Uploads waiting at most; a run that draws faster than it can upload waits for the queue."""
FINISH_WAIT_S = 60
"""How long a run's end waits for its uploads before it gives up on the rest (they are only lost to others)."""

_SCHEMES = ("s3", "s3a", "gs", "az", "abfs", "abfss", "http", "https")
_MISSING = object()


def shown_url(url: str) -> str:
    """``url`` as a log line may show it: no user, password or query (where tokens hide)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _make_store(url: str) -> Any:
    """An obstore store for ``url``, with short timeouts and no retries (the breaker decides).

    Raises:
        SocialCardsError: a URL of no supported engine, or one that carries credentials.
    """
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise SocialCardsError(
            f"remote cache {shown_url(url)!r}: expected s3://bucket/prefix, https://host/path (an HTTP cache) "
            f"or gs:// / az://, got scheme {parts.scheme!r}"
        )
    if parts.username or parts.password or parts.query:
        raise SocialCardsError(
            f"remote cache {shown_url(url)!r}: credentials never go in the URL; set them in the environment "
            "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for S3)"
        )
    from obstore.store import from_url

    client: dict[str, Any] = {"connect_timeout": f"{CONNECT_TIMEOUT_S}s", "timeout": f"{REQUEST_TIMEOUT_S}s"}
    config: dict[str, Any] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if parts.scheme in ("s3", "s3a") and endpoint:
        config["endpoint"] = endpoint  # the name AWS's own tools read, beside object_store's AWS_ENDPOINT
    endpoint = config.get("endpoint") or os.environ.get("AWS_ENDPOINT", "")
    if parts.scheme == "http" or (parts.scheme in ("s3", "s3a") and endpoint.startswith("http://")):
        client["allow_http"] = True
    retry = {"max_retries": 0, "retry_timeout": dt.timedelta(seconds=REQUEST_TIMEOUT_S)}
    try:
        return from_url(url, config=config or None, client_options=client, retry_config=retry)  # type: ignore[call-overload]
    except Exception as exc:  # obstore's own errors: one line naming the URL
        raise SocialCardsError(f"remote cache {shown_url(url)}: {str(exc).splitlines()[0]}") from None


class SharedTier:
    """A shared cache tier for one run. Thread-safe; close it (or use it as a context manager) at the end.

    Args:
        url: the engine and place (``s3://bucket/prefix``, ``https://host/path``).
        mode: ``read-write``, or ``read`` (never uploads: for untrusted builds).
        secret: signs uploads and is required of every object read (default: ``$SOCIAL_CARDS_REMOTE_SECRET``).

    Raises:
        SocialCardsError: the URL names no supported engine, or carries credentials.
    """

    def __init__(self, url: str, *, mode: Mode = "read-write", secret: bytes | None = None) -> None:
        if mode not in MODES:
            raise SocialCardsError(f"remote cache mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.url = url
        self.shown = shown_url(url)
        self.mode = mode
        env_secret = os.environ.get(REMOTE_SECRET_ENV, "")
        self.secret = secret if secret is not None else (env_secret.encode() if env_secret else None)
        self.store = _make_store(url)
        self.conditional = urlsplit(url).scheme not in ("http", "https")
        """Whether uploads are put-if-absent (object stores) rather than plain PUTs (HTTP caches)."""
        self.counts = {"hits": 0, "misses": 0, "uploads": 0, "rejected": 0, "errors": 0}
        self._lock = threading.Lock()
        self._off = False
        self._executor = futures.ThreadPoolExecutor(CONCURRENT_REQUESTS, thread_name_prefix="social-cards-shared")
        self._uploads = threading.BoundedSemaphore(UPLOADS_QUEUED)
        self._pending_uploads: set[futures.Future[None]] = set()

    @property
    def enabled(self) -> bool:
        """False once the tier was turned off for this run."""
        return not self._off

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def _error(self, what: str, exc: BaseException) -> None:
        with self._lock:
            self.counts["errors"] += 1
            if self._off or self.counts["errors"] < ERRORS_BEFORE_OFF:
                logger.debug("remote cache %s: %s failed: %s", self.shown, what, exc)
                return
            self._off = True
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        logger.warning(
            "remote cache %s is off for the rest of this run after %d errors (last: %s); cards are drawn here",
            self.shown, ERRORS_BEFORE_OFF, reason[:200],
        )  # fmt: skip

    def fetch(self, key: str) -> futures.Future[bytes | None]:
        """The card ``key`` names, from the tier, in the background; the future never raises (None: not there)."""
        if self._off:
            done: futures.Future[bytes | None] = futures.Future()
            done.set_result(None)
            return done
        return self._executor.submit(self._get, key)

    def _get(self, key: str) -> bytes | None:
        """The card from the tier; on a miss, claim it (this machine draws it) or wait for the machine that did."""
        found = self._read(key)
        if found is not _MISSING:
            return found if isinstance(found, bytes) else None
        self._count("misses")
        if self.mode != "read-write" or self._claim(key):
            return None
        # Another machine is drawing this card now: its upload is nearer than a drawing of our own.
        deadline = time.monotonic() + CLAIM_WAIT_S
        while time.monotonic() < deadline and not self._off:
            time.sleep(CLAIM_POLL_S)
            found = self._read(key)
            if isinstance(found, bytes):
                return found
            if found is None:  # an error or a rejected object: draw it here
                return None
        return None

    def _read(self, key: str) -> bytes | object | None:
        """The card's bytes; :data:`_MISSING` when the tier has no such object; None after an error or a rejection."""
        if self._off:
            return None
        import obstore

        try:
            blob = bytes(obstore.get(self.store, object_path(key)).bytes())
        except FileNotFoundError:
            return _MISSING
        except Exception as exc:  # any engine or network fault: counted, then the breaker decides
            self._error("a read", exc)
            return None
        data = decode_object(key, blob, self.secret)
        if data is None:
            self._count("rejected")
            logger.debug("remote cache %s: object %s rejected (not this card, damaged or unsigned)", self.shown, key)
            return None
        self._count("hits")
        return data

    def _claim(self, key: str) -> bool:
        """Whether this machine is the one to draw ``key``: no other holds a claim younger than :data:`CLAIM_TTL_S`.

        Where the engine has put-if-absent, two machines never both win a fresh claim; on a
        plain HTTP cache they rarely do, and then both draw the same card (no harm, only time).
        """
        import obstore

        path = claim_path(key)
        stamp = json.dumps({"at": time.time()}).encode()
        try:
            if self.conditional:
                try:
                    obstore.put(self.store, path, stamp, mode="create")
                    return True
                except obstore.exceptions.AlreadyExistsError:
                    pass
                except (obstore.exceptions.NotSupportedError, NotImplementedError):
                    self.conditional = False
            if self._claimed(path):
                return False
            obstore.put(self.store, path, stamp)  # nobody's claim, or one left by a machine that stopped
        except Exception as exc:  # the breaker decides; this machine draws the card
            self._error("a claim", exc)
        return True

    def _claimed(self, path: str) -> bool:
        import obstore

        try:
            changed = obstore.head(self.store, path)["last_modified"].timestamp()
        except FileNotFoundError:
            return False
        return time.time() - changed < CLAIM_TTL_S

    def upload(self, key: str, data: bytes) -> None:
        """Send a card the tier lacked, in the background (a read-only tier, or one that is off, sends nothing)."""
        if self.mode != "read-write" or self._off:
            return
        self._uploads.acquire()  # bounded: a run that draws faster than it uploads waits here
        future = self._executor.submit(self._put, key, encode_object(key, data, self.secret))
        with self._lock:
            self._pending_uploads.add(future)
        future.add_done_callback(self._uploaded)

    def _uploaded(self, future: futures.Future[None]) -> None:
        with self._lock:
            self._pending_uploads.discard(future)
        self._uploads.release()

    def _put(self, key: str, blob: bytes) -> None:
        if self._off:
            return
        import obstore

        try:
            # Put-if-absent where the engine has it: the first machine's card stays.
            obstore.put(self.store, object_path(key), blob, mode="create" if self.conditional else "overwrite")
        except obstore.exceptions.AlreadyExistsError:
            return
        except (obstore.exceptions.NotSupportedError, NotImplementedError):
            self.conditional = False  # a plain HTTP cache: same key, same card, so overwriting is harmless
            self._put(key, blob)
            return
        except Exception as exc:  # counted; the card is only missing for other machines
            self._error("an upload", exc)
            return
        self._count("uploads")
        # The claim stays until it expires: a machine that missed the card a moment before the
        # upload finds the claim, waits, and then finds the card, instead of claiming it anew.

    def finish(self) -> None:
        """Wait for the uploads still on their way (at most :data:`FINISH_WAIT_S`)."""
        with self._lock:
            pending = list(self._pending_uploads)
        if pending:
            _, late = futures.wait(pending, timeout=FINISH_WAIT_S)
            if late:
                logger.warning("remote cache %s: %d uploads did not finish in time", self.shown, len(late))

    def close(self) -> None:
        self.finish()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> SharedTier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def objects(self) -> Iterator[tuple[str, int, float]]:
        """Every object of ours on the tier (cards and claims): its path, size and last change (epoch seconds).

        Raises:
            SocialCardsError: the engine cannot list its objects (a plain HTTP cache).
        """
        import obstore

        try:
            for prefix in (OBJECT_PREFIX, CLAIM_PREFIX):
                for batch in obstore.list(self.store, prefix=prefix, chunk_size=1000):
                    for meta in batch:
                        yield meta["path"], int(meta["size"]), meta["last_modified"].timestamp()
        except Exception as exc:
            raise SocialCardsError(
                f"remote cache {self.shown} cannot list its objects ({str(exc).splitlines()[0][:200]}); "
                "prune it on the server instead (S3: a lifecycle rule; nginx: find -mtime)"
            ) from None

    def delete(self, path: str) -> None:
        """Remove one object (by the path :meth:`objects` gave)."""
        import obstore

        obstore.delete(self.store, path)


def open_shared(url: str | None, mode: str | None) -> SharedTier | None:
    """The tier a run uses: ``url`` (an option), else ``$SOCIAL_CARDS_REMOTE_CACHE``; None when neither is set.

    Raises:
        SocialCardsError: a URL or mode that cannot be used.
    """
    chosen = url or os.environ.get(REMOTE_CACHE_ENV, "").strip()
    if not chosen:
        return None
    return SharedTier(chosen, mode=cast(Mode, mode or "read-write"))  # checked by SharedTier
