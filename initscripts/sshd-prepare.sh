#!/bin/sh
# Prepare a container for OpenSSH's sshd: create /run/sshd (its privilege-separation
# directory, root-owned, 0755) and generate every missing host key with `ssh-keygen -A`
# (existing keys are kept). Installed as $(PREFIX)/lib/rich-init/sshd-prepare.sh.
#
# Use it from an init.d script or a service file of your own, e.g.
#   command = ["/bin/sh", "-c", "/usr/local/lib/rich-init/sshd-prepare.sh && exec /usr/sbin/sshd -D -e"]
# or with arguments, which it execs when done:
#   command = ["/usr/local/lib/rich-init/sshd-prepare.sh", "/usr/sbin/sshd", "-D", "-e"]
# The built-in preset (`--services sshd`) does the same steps itself.
set -eu

fail() {
    echo "sshd-prepare: $*" >&2
    exit 1
}

mkdir -p /run/sshd || fail "cannot create /run/sshd; mount a writable /run"
chmod 0755 /run/sshd || fail "cannot chmod /run/sshd to 0755"

keygen=$(command -v ssh-keygen 2>/dev/null) || keygen=/usr/bin/ssh-keygen
[ -x "$keygen" ] || fail "ssh-keygen not found; install openssh-client"
mkdir -p /etc/ssh || fail "cannot create /etc/ssh"
"$keygen" -A || fail "ssh-keygen -A could not generate the host keys in /etc/ssh; make /etc/ssh writable"

if [ "$#" -gt 0 ]; then
    exec "$@"
fi
