#!/bin/sh
# Turn a freshly bootstrapped Debian 12 root filesystem (debootstrap --variant=minbase plus
# openssh-server, cron, rsyslog, logrotate, procps, nginx-light) into rich-debian's base
# layer: what an operator changes to run these services in a container under rich-init,
# then the clean-up
# that makes the layer reproducible. Runs INSIDE that root filesystem, as root:
#   chroot DIR /bin/sh /configure.sh     (./build)
#   RUN sh /tmp/configure.sh             (./Dockerfile)
# It needs nothing from rich-init itself (that is the next layer).
set -eu
umask 022
cd /

# --- what an operator changes ------------------------------------------------------------

# No kernel log in a container: rsyslog's imklog cannot read /proc/kmsg (no CAP_SYSLOG) and
# says so at every start.
sed -i -e 's/^module(load="imklog")/#&  # rich-debian: no kernel log in a container/' \
    /etc/rsyslog.conf

# pam_loginuid writes /proc/self/loginuid, which needs CAP_AUDIT_CONTROL: a container does
# not have it, and with `required` every ssh login and every cron job is refused.
for f in /etc/pam.d/sshd /etc/pam.d/cron /etc/pam.d/login; do
    [ -f "$f" ] || continue
    sed -i -e 's/^session\([[:space:]]*\)required\([[:space:]]*\)pam_loginuid\.so/session\1optional\2pam_loginuid.so/' "$f"
done

# The container's environment (`ctr run --env`, the image's Env) in ssh sessions and cron
# jobs, as on a VM where /etc/environment holds it: neither sshd nor cron passes its own
# environment on, but both open a PAM session and take pam_env's variables. rich-init
# writes the environment to /run/rich-init/env (`export NAME='value'` lines, which pam_env
# reads too; a value holding a quote or a newline is read right only by `. /run/rich-init/env`),
# so have pam_env read that file after Debian's own two. `optional`: a missing file (an init
# other than rich-init) must not refuse logins.
for f in /etc/pam.d/sshd /etc/pam.d/cron; do
    grep -q 'envfile=/run/rich-init/env' "$f" && continue
    sed -i -e '/^session[[:space:]].*pam_env\.so.*envfile=\/etc\/default\/locale/a\
session    optional   pam_env.so envfile=/run/rich-init/env  # rich-debian: the container env' "$f"
    grep -q 'envfile=/run/rich-init/env' "$f" || {
        echo "configure.sh: no pam_env line for /etc/default/locale in $f to put ours after" >&2
        exit 1
    }
done

# logrotate's postrotate for rsyslog (/usr/lib/rsyslog/rsyslog-rotate) runs
# `systemctl kill -s HUP rsyslog.service` once /run/systemd/system exists: rich-init
# --systemd answers it, so Debian's script stays as it is.

# apt: the point release the image was made from, plus its updates and security suites
# (`apt-get update && apt-get upgrade` brings the fixes published since).
mirror=$(sed -n 's/^deb \([^ ]*\) bookworm main$/\1/p' /etc/apt/sources.list | head -n 1)
if [ -n "$mirror" ]; then
    cat > /etc/apt/sources.list <<END
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/}-security bookworm-security main
END
fi

# minbase has no locales: the C.UTF-8 that glibc always has (and pam_env, which reads this
# file at every ssh login and cron job, stops warning that it is missing).
echo 'LANG=C.UTF-8' > /etc/default/locale
chmod 0644 /etc/default/locale

# Host names and name servers are the runtime's: none of the build machine's.
rm -f /etc/hostname /etc/resolv.conf
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > /etc/hosts
chmod 0644 /etc/hosts /etc/apt/sources.list

# --- reproducible and secret-free ---------------------------------------------------------

# SSH host keys are made at first boot (/etc/rich-init/init.d/10-prepare), never shipped.
rm -f /etc/ssh/ssh_host_*
# Per-machine ids (none in minbase today; never ship one).
rm -f /etc/machine-id /var/lib/dbus/machine-id
# Downloads, package lists and caches.
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
    /var/cache/ldconfig/aux-cache /var/cache/debconf/*-old /var/lib/dpkg/*-old
mkdir -p /var/lib/apt/lists/partial
# Logs of the build: removed; the empty files that logins write to (wtmp, btmp, lastlog,
# faillog) keep their owner and mode.
rm -f /var/log/bootstrap.log /var/log/dpkg.log /var/log/alternatives.log /var/log/apt/*
find /var/log -type f -exec truncate -s 0 {} +
# Mount points and run-time state: the runtime mounts /dev, /proc, /sys and a tmpfs /run
# (left alone where they are mounted now, as under `docker build`).
for d in /dev /proc /sys /run /tmp /var/tmp; do
    mountpoint -q "$d" || find "$d" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
done
