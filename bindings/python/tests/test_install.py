"""Installing the package as a new user would, and finding the library.

A fresh virtualenv gets the package with pip, offline (Debian's setuptools through
--system-site-packages), and the library with `make install PREFIX=<venv>`, which
sets no rpath and runs no ldconfig; five lines of Python then send through
aiosmtpd."""

import os
import shutil
import subprocess
import sys

import libsmtp
from conftest import env

FIVE_LINES = '''\
import email.message, sys, libsmtp
m = email.message.EmailMessage()
m["From"], m["To"], m["Subject"] = "alice@example.org", "bob@example.org", "from a venv"
m.set_content("Sent from a fresh virtualenv.")
with libsmtp.Session(sys.argv[1]) as s: print(s.send(m).outcome, libsmtp.library_path())
'''


def plain_env(**extra):
    """The environment without the test run's library path or sanitizer preload."""
    out = {k: v for k, v in os.environ.items()
           if k not in ("LIBSMTP_PATH", "LD_LIBRARY_PATH", "LD_PRELOAD", "PYTHONPATH",
                        "PKG_CONFIG_PATH")}
    out.update(extra)
    return out


def run(cmd, **kw):
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert out.returncode == 0, (cmd, out.stdout, out.stderr)
    return out.stdout


def child_env(**extra):
    """Like plain_env, but keeping the ASan runtime for a child that loads the library."""
    out = plain_env(**extra)
    if os.environ.get("SMTP_PY_PRELOAD"):
        out["LD_PRELOAD"] = os.environ["SMTP_PY_PRELOAD"]
    return out


def make_install(prefix):
    run(["make", "-s", "-C", env("SMTP_PY_TOP"), "install", f"PREFIX={prefix}",
         f"BUILD={env('SMTP_PY_BUILD')}"], env=plain_env())


def test_fresh_virtualenv_install_and_five_line_send(tmp_path, aio):
    src = tmp_path / "libsmtp-python"
    shutil.copytree(os.path.join(env("SMTP_PY_TOP"), "bindings", "python"), src,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv], env=plain_env())
    run([venv / "bin" / "pip", "install", "--no-index", "--no-build-isolation", "--quiet", src],
        env=plain_env(PIP_DISABLE_PIP_VERSION_CHECK="1"), cwd=tmp_path)
    where = run([venv / "bin" / "python", "-c", "import libsmtp; print(libsmtp.__file__)"],
                env=plain_env(), cwd=tmp_path)
    assert where.startswith(str(venv)), where
    make_install(venv)
    script = tmp_path / "send.py"
    script.write_text(FIVE_LINES)
    assert len(FIVE_LINES.splitlines()) == 5
    before = aio.count()
    out = run([venv / "bin" / "python", script, f"smtp://127.0.0.1:{aio.port}?tls=none"],
              env=child_env(), cwd=tmp_path)
    assert out.split() == ["sent", str(venv / "lib" / "libsmtp.so.0")]
    assert aio.count() == before + 1
    rec = aio.record(-1)
    assert rec["rcpt_tos"] == ["bob@example.org"] and b"Subject: from a venv" in rec["content"]


SHOW = "import libsmtp; print(libsmtp.library_path(), libsmtp.library_version())"


def src_path():
    return os.path.dirname(os.path.dirname(libsmtp.__file__))


def test_found_through_the_system_loader():
    out = run([sys.executable, "-c", SHOW],
              env=child_env(PYTHONPATH=src_path(), LD_LIBRARY_PATH=env("SMTP_PY_BUILD")))
    assert out.split() == ["libsmtp.so.0", "0.1.0"]


def test_found_through_pkg_config(tmp_path):
    prefix = tmp_path / "prefix"
    make_install(prefix)
    out = run([sys.executable, "-c", SHOW],
              env=child_env(PYTHONPATH=src_path(),
                            PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig")))
    assert out.split()[0] == str(prefix / "lib" / "libsmtp.so.0")


def test_libsmtp_path_names_the_file(tmp_path):
    missing = tmp_path / "nothing.so"
    code = ("import libsmtp\n"
            "try:\n    libsmtp.Session('smtp://127.0.0.1')\n"
            "except libsmtp.LibraryNotFoundError as e:\n    print('refused:', e)\n")
    out = run([sys.executable, "-c", code],
              env=child_env(PYTHONPATH=src_path(), LIBSMTP_PATH=str(missing)))
    assert out.strip() == f"refused: LIBSMTP_PATH={missing}: no such file"
    out = run([sys.executable, "-c", SHOW],
              env=child_env(PYTHONPATH=src_path(),
                            LIBSMTP_PATH=os.path.join(env("SMTP_PY_BUILD"), "libsmtp.so.0")))
    assert out.split()[0].endswith("libsmtp.so.0")


def test_import_needs_no_library():
    out = run([sys.executable, "-c", "import libsmtp; print(issubclass(libsmtp.ConnectError, "
               "libsmtp.DeferredError))"],
              env=plain_env(PYTHONPATH=src_path(), LIBSMTP_PATH="/nonexistent/libsmtp.so.0"))
    assert out.strip() == "True"
