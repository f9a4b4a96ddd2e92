"""Invalid arguments raise ValueError or TypeError at once, before any byte is sent.

The sessions here point at a port where nothing listens: had a call reached the
network it would have returned a report (connection refused), not raised."""

import asyncio

import pytest

import libsmtp
from conftest import RAW, free_port, make_message


def dead_url(query: str = "?tls=none") -> str:
    return f"smtp://127.0.0.1:{free_port()}{query}"


@pytest.mark.parametrize("url, reason", [
    ("smtp://mail example.org", "white space"),
    ("smtp://127.0.0.1:99999", "port"),
    ("smtp://127.0.0.1:0", "port"),
    ("smtp://127.0.0.1:x25", "port"),
    ("smpt://127.0.0.1", "scheme"),
    ("smtp://127.0.0.1\r\nRSET", "CR"),
    ("smtp://127.0.0.1\n", "LF"),
    ("smtp://127.0.0.1\0", "NUL"),
    ("smtp://", "url"),
])
def test_bad_url(url, reason):
    with pytest.raises(ValueError, match=reason):
        libsmtp.Session(url)


def test_url_must_be_str():
    with pytest.raises(TypeError):
        libsmtp.Session(b"smtp://127.0.0.1")


@pytest.mark.parametrize("options, exc, reason", [
    ({"tls": "bogus"}, ValueError, "tls"),
    ({"timeout": 0}, ValueError, "timeout"),
    ({"timeout": -1}, ValueError, "timeout"),
    ({"timeout": True}, TypeError, "timeout"),
    ({"timeout": 10**9}, ValueError, "timeout"),
    ({"timeouts": {"rcpt": 0}}, ValueError, "rcpt"),
    ({"timeouts": {"nonsense": 1}}, ValueError, "unknown stage"),
    ({"timeouts": [("rcpt", 1)]}, TypeError, "mapping"),
    ({"helo_name": "client\r\nMAIL FROM:<x@y>"}, ValueError, "CR"),
    ({"helo_name": "two words"}, ValueError, "helo_name"),
    ({"user": "u\nx", "password": "p"}, ValueError, "LF"),
    ({"user": "u", "password": "p\r\nx"}, ValueError, "CR"),
    ({"password": "p"}, ValueError, "need user"),
    ({"user": "u", "password": "p", "oauth_token": "t"}, ValueError, "exclude"),
    ({"user": "u", "password": "p", "auth_mechanisms": "NOT-A-MECH"}, ValueError, "auth_mechanisms"),
    ({"user": "u", "password": "p", "auth_mechanisms": 5}, TypeError, "auth_mechanisms"),
    ({"ca_file": "/tmp/x\0y"}, ValueError, "ca_file"),
    ({"ca_file": 5}, TypeError, "ca_file"),
    ({"client_key": "k.pem"}, ValueError, "client_cert"),
    ({"tls_min_version": "1.0"}, ValueError, "tls_min_version"),
    ({"tls_ciphers": "NOT-A-CIPHER-AT-ALL"}, ValueError, "tls_ciphers"),
    ({"dangerously_skip_certificate_verification": 1}, TypeError, "True or False"),
    ({"chunk_size": 0}, ValueError, "chunk_size"),
    ({"chunking": "yes"}, TypeError, "chunking"),
    ({"trace": "not callable"}, TypeError, "trace"),
    ({"tls_cache": object()}, TypeError, "TLSCache"),
    ({"no_such_option": 1}, TypeError, "unknown option"),
])
def test_bad_option(options, exc, reason):
    with pytest.raises(exc, match=reason):
        libsmtp.Session(dead_url(), **options)
    with pytest.raises(exc, match=reason):
        libsmtp.AsyncSession(dead_url(), **options)


@pytest.mark.parametrize("args, kwargs, exc, reason", [
    (("text, not bytes",), {"from_": "a@example.org", "to": "b@example.org"}, TypeError, "not str"),
    ((12,), {"from_": "a@example.org", "to": "b@example.org"}, TypeError, "int"),
    ((RAW,), {"to": "b@example.org"}, ValueError, "from_"),
    ((RAW,), {"from_": "a@example.org"}, ValueError, "to="),
    ((b"",), {"from_": "a@example.org", "to": "b@example.org"}, ValueError, "empty"),
    ((RAW,), {"from_": "a@example.org", "to": []}, ValueError, "no recipients"),
    ((RAW,), {"from_": "a@example.org", "to": b"b@example.org"}, TypeError, "bytes"),
    ((RAW,), {"from_": "a@example.org", "to": 7}, TypeError, "int"),
    ((RAW,), {"from_": "a@example.org", "to": "b@example.org>\r\nRCPT TO:<c@x.org"}, ValueError, "CR"),
    ((RAW,), {"from_": "a@example.org\n", "to": "b@example.org"}, ValueError, "LF"),
    ((RAW,), {"from_": "a@example.org", "to": "b@exa\0mple.org"}, ValueError, "NUL"),
    ((RAW,), {"from_": "a@example.org", "to": "not an address"}, ValueError, "to"),
    ((RAW,), {"from_": "no at sign", "to": "b@example.org"}, ValueError, "from_"),
    ((RAW,), {"from_": "a@example.org", "to": "b@example.org", "body_type": "9bit"}, ValueError, "body_type"),
    ((RAW,), {"from_": "a@example.org", "to": "b@example.org", "dsn_notify": ["never", "success"]},
     ValueError, "never"),
    ((RAW,), {"from_": "a@example.org", "to": "b@example.org", "dsn_ret": "all"}, ValueError, "dsn_ret"),
    ((RAW,), {"from_": "a@example.org", "to": "b@example.org", "requiretls": 1}, TypeError, "requiretls"),
    ((RAW,), {"from_": "a@example.org", "to": "b@example.org", "nonsense": 1}, TypeError, "nonsense"),
])
def test_bad_send_arguments(args, kwargs, exc, reason):
    with libsmtp.Session(dead_url()) as s:
        with pytest.raises(exc, match=reason):
            s.send(*args, **kwargs)

    async def run():
        s = libsmtp.AsyncSession(dead_url())
        # raised by the call itself, before anything is awaited
        with pytest.raises(exc, match=reason):
            s.send(*args, **kwargs)
        assert s.queued == 0
        await s.close()

    asyncio.run(run())


def test_message_without_sender_or_recipients():
    m = make_message()
    del m["From"]
    with libsmtp.Session(dead_url()) as s:
        with pytest.raises(ValueError, match="From"):
            s.send(m)
    m = make_message()
    del m["To"]
    with libsmtp.Session(dead_url()) as s:
        with pytest.raises(ValueError, match="no recipients"):
            s.send(m)


def test_closed_session_refuses():
    s = libsmtp.Session(dead_url())
    s.close()
    s.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        s.send(RAW, from_="a@example.org", to="b@example.org")

    async def run():
        a = libsmtp.AsyncSession(dead_url())
        await a.close()
        with pytest.raises(RuntimeError, match="closed"):
            a.send(RAW, from_="a@example.org", to="b@example.org")

    asyncio.run(run())
