"""Servers and helpers for the binding's tests. tests/run.sh starts the servers and
exports their ports; a test that needs one that is not there fails (never skips)."""

from __future__ import annotations

import asyncio
import email.message
import gc
import glob
import json
import os
import socket
import subprocess
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the tests through bindings/python/tests/run.sh")
    return value


def url(port_var: str, query: str = "") -> str:
    return f"smtp://127.0.0.1:{env(port_var)}{query}"


@dataclass
class Aiosmtpd:
    """An aiosmtpd.sh server: its URL parts and its records (NNNN.json + .eml)."""

    port: int
    dir: str

    def records(self) -> List[str]:
        return sorted(glob.glob(os.path.join(self.dir, "*.eml")))

    def count(self) -> int:
        return len(self.records())

    def record(self, index: int) -> Dict[str, object]:
        """Record index (0-based) of those saved: its envelope and content bytes."""
        eml = self.records()[index]
        with open(eml[:-4] + ".json") as f:
            rec = json.load(f)
        with open(eml, "rb") as f:
            rec["content"] = f.read()
        return rec


@dataclass
class Sink:
    """An smtp-sink.sh server and its dumps (one file per transaction)."""

    port: int
    dir: str

    def count(self) -> int:
        return len([n for n in os.listdir(self.dir) if not n.startswith(".")])

    def dumps(self) -> List[bytes]:
        out = []
        for name in sorted(os.listdir(self.dir)):
            with open(os.path.join(self.dir, name), "rb") as f:
                out.append(f.read())
        return out


@pytest.fixture
def aio() -> Aiosmtpd:
    return Aiosmtpd(int(env("SMTP_PY_AIO_PORT")), env("SMTP_PY_AIO_DIR"))


@pytest.fixture
def aio_tls() -> Aiosmtpd:
    return Aiosmtpd(int(env("SMTP_PY_AIOTLS_PORT")), env("SMTP_PY_AIOTLS_DIR"))


@pytest.fixture
def sink() -> Sink:
    return Sink(int(env("SMTP_PY_SINK_PORT")), env("SMTP_PY_SINK_DIR"))


@pytest.fixture
def pf_sink() -> Sink:
    return Sink(0, env("SMTP_PY_PF_SINK_DIR"))


@pytest.fixture
def ca_file() -> str:
    return os.path.join(env("SMTP_PY_CERTS"), "ca.pem")


@pytest.fixture
def creds() -> Dict[str, str]:
    return {"user": env("SMTP_PY_USER"), "password": env("SMTP_PY_PASSWORD")}


def free_port() -> int:
    """A loopback port where nothing listens (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_message(subject: str = "hello", to: str = "bob@example.org",
                 cc: Optional[str] = None, bcc: Optional[str] = None,
                 body: str = "Hello from the libsmtp binding.\n") -> email.message.EmailMessage:
    m = email.message.EmailMessage()
    m["From"] = "Alice <alice@example.org>"
    m["To"] = to
    if cc:
        m["Cc"] = cc
    if bcc:
        m["Bcc"] = bcc
    m["Subject"] = subject
    m.set_content(body)
    return m


RAW = (b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: raw\r\n\r\n"
       b"A raw message.\r\n.leading dot\r\n")



async def until_traced(lines: List[Tuple[str, str]], entry: Tuple[str, str]) -> None:
    """Waits (5 s at most) until the trace lines hold entry, e.g. ("send", "DATA")."""
    for _ in range(500):
        if entry in lines:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"{entry} never traced")


async def drop_in_order(objs: Dict[str, Any], order: Tuple[str, ...],
                        before: Optional[Callable[[str], None]] = None) -> List[Any]:
    """Deletes objs[name] for each name in order, collecting garbage after each;
    for "tasks" (send tasks) it first cancels the first task and awaits them all.
    Returns the reports of the tasks that were not cancelled."""
    reports = []
    for name in order:
        if name == "tasks":
            objs["tasks"][0].cancel()
            for t in objs["tasks"]:
                try:
                    reports.append(await t)
                except asyncio.CancelledError:
                    pass
        elif before is not None:
            before(name)
        del objs[name]
        gc.collect()
        await asyncio.sleep(0)
    return reports


def openssl(*args: str) -> bytes:
    """Runs the openssl command (outside the ASan runtime preloaded into the
    tests: its leak report would fail it) and returns its output."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    return subprocess.run(["openssl", *args], check=True, env=env, capture_output=True).stdout


def private_key(path: str, algorithm: str) -> str:
    """Makes a private key ("ED25519", "RSA" for 2048 bits, "RSA1024") at path."""
    if algorithm.startswith("RSA"):
        bits = algorithm[3:] or "2048"
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}",
                "-out", path)
    else:
        openssl("genpkey", "-algorithm", algorithm, "-out", path)
    return path
