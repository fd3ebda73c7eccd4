#!/bin/sh
# Prepare a macOS host (12 Monterey or later) as a buildmaster slave. Run with sudo:
#
#   sudo sh macos-setup.sh [-u buildbot] [-d /Users/buildbot/workers] [-s 64] master.pub
#
# It turns on Remote Login (Apple's OpenSSH), creates a standard (non-admin) build user,
# lets it log in over SSH, authorizes the master's key, raises sshd's MaxSessions, creates the
# workers' base directory and prints the host key fingerprints. Idempotent.
# Note: on macOS 13+ turning Remote Login on from a script needs the terminal to have Full Disk
# Access; if `systemsetup` refuses, switch it on in System Settings > General > Sharing.
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
[ "$(id -u)" -eq 0 ] || { echo "run with sudo" >&2; exit 1; }
grep -Eq '^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+' "$PUBKEY_FILE" ||
  { echo "$PUBKEY_FILE does not look like an OpenSSH public key" >&2; exit 1; }

if ! id "$BUILD_USER" >/dev/null 2>&1; then
  # A random password nobody knows: login is by key only.
  sysadminctl -addUser "$BUILD_USER" -fullName 'buildmaster build user' \
    -password "$(openssl rand -base64 24)" -home "/Users/$BUILD_USER" -shell /bin/zsh
  createhomedir -c -u "$BUILD_USER" >/dev/null
fi
HOME_DIR=$(dscl . -read "/Users/$BUILD_USER" NFSHomeDirectory | awk '{print $2}')
[ -n "$BASEDIR" ] || BASEDIR=$HOME_DIR/workers
GROUP=$(id -gn "$BUILD_USER")

# Remote Login may be limited to a group; make sure the build user is in it.
if dscl . -read /Groups/com.apple.access_ssh >/dev/null 2>&1; then
  dseditgroup -o edit -a "$BUILD_USER" -t user com.apple.access_ssh
fi
systemsetup -setremotelogin on >/dev/null 2>&1 ||
  launchctl load -w /System/Library/LaunchDaemons/ssh.plist 2>/dev/null || true

install -d -m 700 -o "$BUILD_USER" -g "$GROUP" "$HOME_DIR/.ssh"
AUTH=$HOME_DIR/.ssh/authorized_keys
touch "$AUTH"
KEY=$(head -n 1 "$PUBKEY_FILE")
grep -qxF "$KEY" "$AUTH" || printf '%s\n' "$KEY" >>"$AUTH"
chown "$BUILD_USER:$GROUP" "$AUTH"
chmod 600 "$AUTH"
install -d -o "$BUILD_USER" -g "$GROUP" "$BASEDIR"

# zsh reads ~/.zshenv for every command: keep it empty so commands start fast.
[ -e "$HOME_DIR/.zshenv" ] || { : >"$HOME_DIR/.zshenv"; chown "$BUILD_USER:$GROUP" "$HOME_DIR/.zshenv"; }

mkdir -p /etc/ssh/sshd_config.d
printf '# buildmaster: concurrent commands per connection\nMaxSessions %s\n' "$MAX_SESSIONS" \
  >/etc/ssh/sshd_config.d/40-buildmaster.conf
if ! grep -Eq '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config.d/' /etc/ssh/sshd_config; then
  sed -i '' '/^[[:space:]]*MaxSessions[[:space:]]/d' /etc/ssh/sshd_config
  printf 'MaxSessions %s\n' "$MAX_SESSIONS" | cat - /etc/ssh/sshd_config >/etc/ssh/sshd_config.new
  mv /etc/ssh/sshd_config.new /etc/ssh/sshd_config
fi
/usr/sbin/sshd -t
launchctl kickstart -k system/com.openssh.sshd 2>/dev/null || true

echo "slave ready: user $BUILD_USER, basedir $BASEDIR, MaxSessions $MAX_SESSIONS"
echo "install the build tools too (e.g. xcode-select --install) and use platform: 'macos' for this worker."
echo "host key fingerprints (compare with what 'buildmaster trust-worker' prints):"
for k in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf "$k"; done
