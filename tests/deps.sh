#!/bin/sh
# deps.sh: install what the build and the tests need on Debian 12, as root, without
# a terminal. Idempotent: when everything is there it prints nothing and takes well
# under a second. Installs Debian packages (apt-get update once, only if something is
# missing) and the npm packages of tests/servers (only if node_modules is missing).
# Services that packages would start on install (postfix, dovecot) are kept from
# starting: the tests run their own instances with their own configurations.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

pkgs="build-essential clang llvm libclang-rt-14-dev pkg-config libssl-dev libidn2-dev
libunistring-dev postfix dovecot-core python3-aiosmtpd openssl valgrind strace
libevent-dev libuv1-dev libcurl4-openssl-dev curl iproute2
redis-server libhiredis-dev python3-dkim python3-nacl python3-pytest python3-setuptools
python3-venv python3-pip python3-wheel mandoc abigail-tools"

say() { echo "deps.sh: $*" >&2; }

# one dpkg-query for all: the names of those installed (status "ii")
# shellcheck disable=SC2086
installed=" $(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $pkgs 2>/dev/null |
    awk '$1 == "ii" { printf "%s ", $2 }') " || true
missing=
for p in $pkgs; do
    case $installed in
        *" $p "*) ;;
        *) missing="$missing $p" ;;
    esac
done
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"

if [ -n "$missing" ]; then
    [ "$(id -u)" = 0 ] || { say "need root to install:$missing"; exit 1; }
    say "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

    # Keep maintainer scripts from starting daemons (invoke-rc.d and
    # deb-systemd-invoke honour policy-rc.d). Leave an existing policy alone.
    policy=/usr/sbin/policy-rc.d
    made_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# temporary, from libsmtp tests/deps.sh\nexit 101\n' > "$policy"
        chmod 755 "$policy"
        made_policy=1
        trap 'rm -f "$policy"' EXIT INT TERM
    fi

    apt-get update -q </dev/null >&2
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing </dev/null >&2

    if [ -n "$made_policy" ]; then
        rm -f "$policy"
        trap - EXIT INT TERM
    fi

    # Should a system instance have started anyway, stop it with its own tools
    # (never by process name), and keep it from starting at boot.
    case " $missing " in
    *" postfix "*)
        if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
            systemctl disable --now postfix >/dev/null 2>&1 || true
        fi
        if postfix status >/dev/null 2>&1; then
            say "stopping the system postfix that the install started"
            postfix stop >/dev/null 2>&1 || true
        fi
        ;;
    esac
    case " $missing " in
    *" dovecot-core "*)
        if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
            systemctl disable --now dovecot dovecot.socket >/dev/null 2>&1 || true
        fi
        if doveadm service status >/dev/null 2>&1; then
            say "stopping the system dovecot that the install started"
            doveadm stop >/dev/null 2>&1 || true
        fi
        ;;
    esac
fi

node_major=$(node --version 2>/dev/null | sed -n 's/^v\([0-9]*\).*/\1/p')
node_major=${node_major:-0}
if [ "$node_major" -lt 20 ]; then
    say "warning: node $(node --version 2>/dev/null) is older than 20, which smtp-server needs"
fi

# Nodemailer's smtp-server for tests/servers/node_server.js, from package-lock.json
if [ ! -d "$here/servers/node_modules" ]; then
    say "installing tests/servers npm packages"
    cd "$here/servers"
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund --loglevel=error </dev/null >&2
    else
        npm install --no-audit --no-fund --loglevel=error </dev/null >&2
    fi
fi
