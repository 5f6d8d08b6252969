#!/bin/sh
# rich-debian's boot script: /etc/rich-init/init.d/10-prepare, run by rich-init before the
# services start (its output shows as "[10-prepare] ..."; a failure stops the boot, exit 79).
# What an operator does before sshd can start on a fresh machine:
#
# 1. SSH host keys. They are never in the image: each container makes its own at first boot.
#    Where they live:
#    - $SSH_HOST_KEYS_DIR if set, else /etc/ssh/host-keys if it is a directory (the image has
#      none: mount a volume there): missing keys are generated in that directory, and
#      /etc/ssh/ssh_host_*_key[.pub] become symbolic links to them. The keys then survive a
#      new container or an image upgrade (upgrade-helper gives the container a fresh
#      snapshot of the new image: the old writable layer, and keys made in it, are gone).
#    - otherwise /etc/ssh, in the container's writable layer (`ssh-keygen -A`).
# 2. /run/sshd (sshd's privilege-separation directory) and /run/lock.
#    1 and 2 are rich-init's sshd-prepare.sh (initscripts/), installed at
#    /usr/local/lib/rich-init/sshd-prepare.sh; the sshd preset repeats `ssh-keygen -A` and
#    /run/sshd, which are no-ops then.
# 3. root's ~/.ssh/authorized_keys, from $SSH_AUTHORIZED_KEYS (keys, one a line) and the
#    file $SSH_AUTHORIZED_KEYS_FILE (default /etc/rich-init/authorized_keys: bind-mount it,
#    or mount a volume on /etc/rich-init). When either gives a key, the file is rewritten
#    with those keys at every boot (a key removed there is removed here); when neither
#    does, an existing authorized_keys (e.g. on a /root volume) is left alone.
set -eu
umask 022

say() { echo "$*"; }
fail() {
    echo "error: $*" >&2
    exit 1
}

# --- 1 and 2. host keys (on a volume if one is there), /run/sshd, /run/lock -------------------
mkdir -p /run/lock && chmod 1777 /run/lock
/usr/local/lib/rich-init/sshd-prepare.sh

# --- 3. root's authorized_keys ------------------------------------------------------------
keys_file=${SSH_AUTHORIZED_KEYS_FILE:-/etc/rich-init/authorized_keys}
new=$(mktemp)
trap 'rm -f "$new"' EXIT
from=
if [ -n "${SSH_AUTHORIZED_KEYS:-}" ]; then
    printf '%s\n' "$SSH_AUTHORIZED_KEYS" >> "$new"
    from="SSH_AUTHORIZED_KEYS"
fi
if [ -s "$keys_file" ]; then
    cat "$keys_file" >> "$new" || fail "cannot read $keys_file"
    from="${from:+$from and }$keys_file"
fi
# Keep only key lines (no blank lines or comments) to count them.
count=$(grep -c -v -e '^[[:space:]]*$' -e '^[[:space:]]*#' "$new" || true)
if [ "$count" -gt 0 ]; then
    mkdir -p /root/.ssh
    chmod 0700 /root/.ssh
    {
        echo "# Written at boot by /etc/rich-init/init.d/10-prepare from $from:"
        echo "# edit those instead; this file is replaced at every boot."
        cat "$new"
    } > /root/.ssh/authorized_keys.tmp
    chmod 0600 /root/.ssh/authorized_keys.tmp
    mv -f /root/.ssh/authorized_keys.tmp /root/.ssh/authorized_keys
    say "root's authorized_keys: $count key(s) from $from"
    # Their fingerprints, for the log; sshd ignores a line that is not a key: say so.
    ssh-keygen -l -f /root/.ssh/authorized_keys ||
        echo "warning: no valid public key in $from" >&2
elif [ -s /root/.ssh/authorized_keys ]; then
    say "root's authorized_keys: kept as it is (no SSH_AUTHORIZED_KEYS, no $keys_file)"
else
    say "root's authorized_keys: none (set SSH_AUTHORIZED_KEYS or mount $keys_file to log in)"
fi
