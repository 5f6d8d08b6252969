#!/bin/sh
# Prepare a container for OpenSSH's sshd, as an operator would on a fresh machine:
# 1. Host keys. With $SSH_HOST_KEYS_DIR set, or else a directory /etc/ssh/host-keys (a
#    volume mounted there), missing keys are generated in that directory and
#    /etc/ssh/ssh_host_*_key[.pub] become symbolic links to them: the keys then outlive the
#    container, a new one from the same image, and an in-place upgrade. Otherwise every
#    missing key is generated in /etc/ssh (`ssh-keygen -A`; existing keys are kept).
# 2. /run/sshd (sshd's privilege-separation directory, root-owned, 0755).
# 3. A warning when /etc/pam.d/sshd *requires* pam_loginuid while this process already has
#    a login uid (the host's): without CAP_AUDIT_CONTROL it cannot be changed, and every
#    login would be refused. Make that line `optional` (rich-debian does).
# Installed as $(PREFIX)/lib/rich-init/sshd-prepare.sh.
#
# Use it from an init.d script or a service file of your own, e.g.
#   command = ["/bin/sh", "-c", "/usr/local/lib/rich-init/sshd-prepare.sh && exec /usr/sbin/sshd -D -e"]
# or with arguments, which it execs when done:
#   command = ["/usr/local/lib/rich-init/sshd-prepare.sh", "/usr/sbin/sshd", "-D", "-e"]
# The built-in preset (`--services sshd`) does steps 2 and 3 itself, and `ssh-keygen -A`.
set -eu

fail() {
    echo "sshd-prepare: $*" >&2
    exit 1
}

keygen=$(command -v ssh-keygen 2>/dev/null) || keygen=/usr/bin/ssh-keygen
[ -x "$keygen" ] || fail "ssh-keygen not found; install openssh-client"

# --- 1. host keys --------------------------------------------------------------------------
keys_dir=${SSH_HOST_KEYS_DIR:-}
if [ -z "$keys_dir" ] && [ -d /etc/ssh/host-keys ]; then
    keys_dir=/etc/ssh/host-keys
fi
mkdir -p /etc/ssh || fail "cannot create /etc/ssh"
if [ -n "$keys_dir" ] && [ "$keys_dir" != /etc/ssh ]; then
    mkdir -p "$keys_dir" || fail "cannot create the host key directory $keys_dir"
    for type in rsa ecdsa ed25519; do
        key=$keys_dir/ssh_host_${type}_key
        if [ ! -s "$key" ]; then
            rm -f "$key" "$key.pub"
            "$keygen" -q -t "$type" -N '' -C "root@$(uname -n)" -f "$key" ||
                fail "cannot generate $key; is $keys_dir writable?"
            echo "generated the $type host key in $keys_dir"
        elif [ ! -s "$key.pub" ]; then
            "$keygen" -y -f "$key" > "$key.pub" || fail "cannot derive $key.pub from $key"
        fi
        # sshd refuses a private key that others can read.
        if ! { chown 0:0 "$key" "$key.pub" && chmod 0600 "$key" && chmod 0644 "$key.pub"; }; then
            fail "cannot set the owner and mode of $key"
        fi
        ln -sfn "$key" "/etc/ssh/ssh_host_${type}_key"
        ln -sfn "$key.pub" "/etc/ssh/ssh_host_${type}_key.pub"
    done
    echo "host keys: $keys_dir"
fi
"$keygen" -A || fail "ssh-keygen -A could not generate the host keys in /etc/ssh; make /etc/ssh writable"

# --- 2. /run/sshd --------------------------------------------------------------------------
mkdir -p /run/sshd || fail "cannot create /run/sshd; mount a writable /run"
chmod 0755 /run/sshd || fail "cannot chmod /run/sshd to 0755"

# --- 3. pam_loginuid -----------------------------------------------------------------------
if [ "$(cat /proc/self/loginuid 2>/dev/null || echo 4294967295)" != 4294967295 ] &&
    grep -qs '^session[[:space:]]*required[[:space:]]*pam_loginuid\.so' /etc/pam.d/sshd; then
    echo "sshd-prepare: warning: /etc/pam.d/sshd requires pam_loginuid, which cannot set the login uid in this container: every login will be refused; make that line optional" >&2
fi

if [ "$#" -gt 0 ]; then
    exec "$@"
fi
