#!/bin/sh
# Prepare a CentOS / RHEL / Rocky / Alma host (7, 8, 9) as a buildmaster slave. Run as root:
#
#   sh centos-setup.sh [-u buildbot] [-d /home/buildbot/workers] [-s 64] master.pub
#
# master.pub is the master's public key (one OpenSSH line). The script is idempotent.
# It installs and enables sshd, creates the build user (shell /bin/sh: no rc files to slow every
# command), authorizes the master's key, raises sshd's MaxSessions, opens the firewall for ssh,
# creates the workers' base directory, and prints the host key fingerprints to check against
# `buildmaster trust-worker`.
set -eu

BUILD_USER=buildbot
BASEDIR=
MAX_SESSIONS=64
usage() { echo "usage: $0 [-u user] [-d basedir] [-s maxsessions] MASTER_PUBLIC_KEY_FILE" >&2; exit 2; }
while getopts u:d:s: opt; do
  case $opt in
    u) BUILD_USER=$OPTARG ;;
    d) BASEDIR=$OPTARG ;;
    s) MAX_SESSIONS=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
PUBKEY_FILE=$1
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
grep -Eq '^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+' "$PUBKEY_FILE" ||
  { echo "$PUBKEY_FILE does not look like an OpenSSH public key" >&2; exit 1; }

if command -v dnf >/dev/null 2>&1; then PKG=dnf; else PKG=yum; fi
$PKG install -y openssh-server procps-ng >/dev/null

# The build user: '*' instead of a locked '!!' password, because sshd refuses locked accounts
# when UsePAM is off; key-only login either way.
if ! id "$BUILD_USER" >/dev/null 2>&1; then
  useradd -m -s /bin/sh -c 'buildmaster build user' "$BUILD_USER"
fi
usermod -p '*' "$BUILD_USER"
HOME_DIR=$(getent passwd "$BUILD_USER" | cut -d: -f6)
[ -n "$BASEDIR" ] || BASEDIR=$HOME_DIR/workers

install -d -m 700 -o "$BUILD_USER" -g "$BUILD_USER" "$HOME_DIR/.ssh"
AUTH=$HOME_DIR/.ssh/authorized_keys
touch "$AUTH"
KEY=$(head -n 1 "$PUBKEY_FILE")
grep -qxF "$KEY" "$AUTH" || printf '%s\n' "$KEY" >>"$AUTH"
chown "$BUILD_USER:$BUILD_USER" "$AUTH"
chmod 600 "$AUTH"
if command -v restorecon >/dev/null 2>&1; then restorecon -R "$HOME_DIR/.ssh" || true; fi

install -d -o "$BUILD_USER" -g "$BUILD_USER" "$BASEDIR"

# MaxSessions: one SSH session per concurrent command or file transfer (OpenSSH's default is 10).
# The worker's `maxSessions` in master.config.ts must not exceed it.
if grep -Eq '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config.d/' /etc/ssh/sshd_config; then
  mkdir -p /etc/ssh/sshd_config.d
  printf '# buildmaster: concurrent commands per connection\nMaxSessions %s\n' "$MAX_SESSIONS" \
    >/etc/ssh/sshd_config.d/40-buildmaster.conf
else
  # CentOS 7 has no drop-in directory: set it in sshd_config, before any Match block.
  sed -i '/^[[:space:]]*MaxSessions[[:space:]]/d' /etc/ssh/sshd_config
  sed -i "1i MaxSessions $MAX_SESSIONS" /etc/ssh/sshd_config
fi
sshd -t
systemctl enable sshd >/dev/null 2>&1 || true
systemctl restart sshd

if systemctl is-active --quiet firewalld 2>/dev/null; then
  firewall-cmd --quiet --permanent --add-service=ssh && firewall-cmd --quiet --reload
fi

echo "slave ready: user $BUILD_USER, basedir $BASEDIR, MaxSessions $MAX_SESSIONS"
echo "host key fingerprints (compare with what 'buildmaster trust-worker' prints):"
for k in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf "$k"; done
