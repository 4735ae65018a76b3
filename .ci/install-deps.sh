#!/usr/bin/env bash
# Installs the real servers used by internal/testenv (OpenSSH sshd, pyftpdlib,
# vsftpd, PostgreSQL, GnuPG, versitygw) and kcat. Idempotent and non-interactive: when
# everything is already present it returns in well under a second.
#
# Usage: .ci/install-deps.sh [--with-chromium] [--skip-versitygw]
#
# Environment:
#   VERSITYGW_VERSION  versitygw module version to build (default v1.8.0)
#   VERSITYGW_BIN      if set and executable, versitygw is not rebuilt
set -euo pipefail

WITH_CHROMIUM=0
SKIP_VERSITYGW=0
for arg in "$@"; do
	case "$arg" in
	--with-chromium) WITH_CHROMIUM=1 ;;
	--skip-versitygw) SKIP_VERSITYGW=1 ;;
	-h | --help)
		sed -n '2,10p' "$0"
		exit 0
		;;
	*)
		echo "install-deps: unknown argument: $arg" >&2
		exit 2
		;;
	esac
done

start=$(date +%s.%N)
log() { echo "install-deps: $*" >&2; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		log "not root and no sudo: cannot install packages"
		exit 1
	fi
fi

# Debian packages and, for each, a file that proves it is installed.
# (Checking files instead of dpkg-query keeps the fast path cheap.)
declare -A PROBE=(
	[openssh-server]=/usr/sbin/sshd
	[openssh-client]=/usr/bin/ssh-keygen
	[openssh-sftp-server]=/usr/lib/openssh/sftp-server
	[python3]=/usr/bin/python3
	[python3-pyftpdlib]=/usr/lib/python3/dist-packages/pyftpdlib/__init__.py
	[python3-openssl]=/usr/lib/python3/dist-packages/OpenSSL/__init__.py
	[vsftpd]=/usr/sbin/vsftpd
	[gnupg]=/usr/bin/gpg
	[gpg-agent]=/usr/bin/gpg-agent
	[postgresql]=/usr/lib/postgresql/15/bin/postgres
	[postgresql-client]=/usr/bin/psql
	[sqlite3]=/usr/bin/sqlite3
	[openssl]=/usr/bin/openssl
	[passwd]=/usr/sbin/chpasswd
	[ca-certificates]=/etc/ssl/certs/ca-certificates.crt
	[kcat]=/usr/bin/kcat
)
if [ "$WITH_CHROMIUM" = 1 ]; then
	PROBE[chromium]=/usr/bin/chromium
	PROBE[chromium-driver]=/usr/bin/chromedriver
fi

missing=()
for pkg in "${!PROBE[@]}"; do
	if [ ! -e "${PROBE[$pkg]}" ]; then
		missing+=("$pkg")
	fi
done

if [ "${#missing[@]}" -gt 0 ]; then
	log "installing: ${missing[*]}"
	# Keep postinst scripts from starting daemons (sshd, postgres, vsftpd):
	# tests start their own instances on random loopback ports.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
		$SUDO chmod 755 /usr/sbin/policy-rc.d
		trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	t0=$(date +%s.%N)
	$SUDO apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"${missing[@]}" >/dev/null
	log "apt took $(elapsed "$t0")s"
else
	log "debian packages already installed"
fi

# sshd refuses to start without its privilege-separation directory.
$SUDO mkdir -p /run/sshd
$SUDO chmod 755 /run/sshd
# vsftpd's secure_chroot_dir.
$SUDO mkdir -p /var/run/vsftpd/empty

# versitygw (S3 gateway over a directory), built from the Go module proxy and
# cached in $(go env GOPATH)/bin.
if [ "$SKIP_VERSITYGW" = 0 ]; then
	VGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"
	if [ -n "${VERSITYGW_BIN:-}" ] && [ -x "${VERSITYGW_BIN}" ]; then
		log "versitygw present at $VERSITYGW_BIN"
	else
		if ! command -v go >/dev/null 2>&1; then
			log "go not found on PATH: cannot build versitygw"
			exit 1
		fi
		gobin="$(go env GOPATH)/bin"
		if [ -x "$gobin/versitygw" ]; then
			log "versitygw present at $gobin/versitygw"
		else
			log "building versitygw $VGW_VERSION into $gobin (takes a few minutes)"
			mkdir -p "$gobin"
			t0=$(date +%s.%N)
			GOBIN="$gobin" GOFLAGS=-buildvcs=false go install "github.com/versity/versitygw/cmd/versitygw@$VGW_VERSION"
			log "versitygw build took $(elapsed "$t0")s"
		fi
	fi
fi

# mailpit (SMTP server with an API to read messages back, for the alert
# email tests), built from the Go module proxy like versitygw.
MAILPIT_VERSION="${MAILPIT_VERSION:-v1.33.1}"
if [ -n "${MAILPIT_BIN:-}" ] && [ -x "${MAILPIT_BIN}" ]; then
	log "mailpit present at $MAILPIT_BIN"
elif command -v go >/dev/null 2>&1; then
	gobin="$(go env GOPATH)/bin"
	if [ -x "$gobin/mailpit" ]; then
		log "mailpit present at $gobin/mailpit"
	else
		log "building mailpit $MAILPIT_VERSION into $gobin"
		mkdir -p "$gobin"
		t0=$(date +%s.%N)
		GOBIN="$gobin" GOFLAGS=-buildvcs=false go install "github.com/axllent/mailpit@$MAILPIT_VERSION"
		log "mailpit build took $(elapsed "$t0")s"
	fi
fi

log "done in $(elapsed "$start")s"
