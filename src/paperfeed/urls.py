"""Addresses from outside (sources, submissions, users): the one allow-list every link passes
before it is stored and again before it becomes an ``href`` in a page, a feed or a mail."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

MAX_URL = 2_000
SCHEMES = ("http", "https")
CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org")
# huggingface.co paths that are the site's own pages, not an owner's repository
HUB_PAGES = frozenset({"papers", "docs", "blog", "api", "models", "collections", "posts", "learn"})
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# control characters and whitespace: browsers drop some of them inside a scheme
# (``java\tscript:``), so an address holding any is refused rather than cleaned
_UNSAFE_CHARACTER = re.compile(r"[\x00-\x20\x7f-\x9f\s]")


def safe_url(value: object) -> str | None:
    """``value`` if it is an absolute http(s) URL with a well-formed host (a domain name or an
    IP address) and no credentials; ``None`` otherwise (``javascript:``, ``data:``, relative
    or protocol-relative addresses, ``https://github.com@evil.example``); surrounding
    whitespace is dropped."""
    if not isinstance(value, str) or not 0 < len(value := value.strip()) <= MAX_URL:
        return None
    if _UNSAFE_CHARACTER.search(value):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in SCHEMES or parts.username is not None:
        return None
    return value if _good_host(parts.hostname or "") else None


def webhook_url(value: object, *, allow_private: bool = False) -> str:
    """``value`` as a webhook's address: a :func:`safe_url`, and (unless ``allow_private``)
    not one of this machine's or a private network's (``localhost``, ``127.0.0.1``,
    ``10.0.0.0/8``, ...), which a user's webhook could otherwise reach through the server.
    Raises :class:`ValueError` saying why. Names are checked again when a call is made
    (:func:`public_address`): one may resolve to a private address later."""
    url = safe_url(value)
    if url is None:
        raise ValueError(f"a webhook needs an http(s) URL of at most {MAX_URL} characters")
    host = urlsplit(url).hostname or ""
    if not allow_private and (_private_ip(host) or _local_name(host)):
        raise ValueError(f"{host} is a local or private address; webhooks go to public ones")
    return url


class PrivateAddress(ValueError):
    """A name that is, or resolves to, a local or private address."""


def public_address(host: str, port: int) -> str:
    """The address to connect to for ``host``: the first it resolves to, once every address
    it resolves to is public. The caller connects to this address, not to the name, so that a
    second look-up cannot point elsewhere (DNS rebinding). Raises :class:`PrivateAddress`, or
    :class:`OSError` when the name does not resolve."""
    if _private_ip(host) or _local_name(host):
        raise PrivateAddress(host)
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except UnicodeError as error:
        raise OSError(f"{host!r} is not a host name") from error
    addresses = [str(address[4][0]) for address in found]
    if not addresses or any(_private_ip(address) for address in addresses):
        raise PrivateAddress(host)
    return addresses[0]


def _private_ip(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]").partition("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def _local_name(host: str) -> bool:
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith((".localhost", ".local", ".internal"))


def safe_urls(values: Iterable[object] | None) -> list[str]:
    """The safe URLs among ``values``, in order, each once."""
    return list(dict.fromkeys(url for url in map(safe_url, values or ()) if url))


def is_code_url(url: str, hosts: Iterable[str] = CODE_HOSTS) -> bool:
    """Whether a safe URL leads to one of ``hosts`` (by default: GitHub, GitLab, ...)."""
    return (urlsplit(url).hostname or "").removeprefix("www.") in hosts


def code_url(links: Iterable[object] | None, hosts: Iterable[str] = CODE_HOSTS) -> str | None:
    """The first safe link among ``links`` to one of ``hosts``, or ``None``."""
    return next((url for url in safe_urls(links) if is_code_url(url, hosts)), None)


def hub_repo(url: str) -> tuple[str, str] | None:
    """``("models" | "datasets" | "spaces", "owner/name")`` for a safe link to a repository
    on the Hugging Face Hub, else ``None``."""
    parts = urlsplit(url)
    if (parts.hostname or "").removeprefix("www.") != "huggingface.co":
        return None
    path = [part for part in parts.path.split("/") if part]
    kind = path.pop(0) if path and path[0] in ("datasets", "spaces") else "models"
    if len(path) < 2 or path[0] in HUB_PAGES:
        return None
    return kind, f"{path[0]}/{path[1]}"


def _good_host(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_name.removesuffix(".").split(".")
    return len(ascii_name) <= 253 and all(_LABEL.match(label) for label in labels)
