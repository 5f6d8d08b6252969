#!/bin/sh
# The rich-busybox root filesystem, written into DIR (which must not exist yet):
# Debian's busybox-static with a relative symlink for each applet, rich-init at
# /sbin/rich-init, and what busybox crond and syslogd (rich-init's presets) need.
# Usage: images/rich-busybox/rootfs.sh DIR
# Env: RICH_INIT_BIN (the static rich-init to copy), BUSYBOX (default /bin/busybox).
# Used by ./build and by ./Dockerfile; it sets every mode itself (the umask does not leak in).
set -eu
umask 022
dir=${1:?usage: rootfs.sh DIR}
rich_init=${RICH_INIT_BIN:?set RICH_INIT_BIN to the static rich-init binary}
busybox=${BUSYBOX:-/bin/busybox}

mkdir "$dir"
cd "$dir"
mkdir -p bin sbin usr/bin usr/sbin etc/profile.d root tmp var/tmp var/log \
    var/spool/cron/crontabs run proc sys dev
chmod 0700 root
chmod 1777 tmp var/tmp
cp "$busybox" bin/busybox
cp "$rich_init" sbin/rich-init
chmod 0755 bin/busybox sbin/rich-init

# Relative links (bin/sh -> busybox, usr/bin/awk -> ../../bin/busybox): right inside the
# image and when the directory is looked at from the host.
bin/busybox --list-full | while read -r applet; do
    case $applet in
    bin/busybox | linuxrc) ;;
    bin/*) ln -s busybox "$applet" ;;
    *) ln -s "$(echo "$applet" | sed -e 's|[^/]*$||' -e 's|[^/]*/|../|g')bin/busybox" "$applet" ;;
    esac
done

# busybox crond runs root's crontab (/var/spool/cron/crontabs/root) as the user it names:
# users and groups come from these files (static busybox has no NSS).
cat > etc/passwd <<'END'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
END
cat > etc/group <<'END'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
END
echo '127.0.0.1 localhost' > etc/hosts
# Login shells (`sh -l`) get the container's environment that rich-init writes to
# /etc/profile.d/rich-init-env.sh.
cat > etc/profile <<'END'
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
for f in /etc/profile.d/*.sh; do [ -r "$f" ] && . "$f"; done
unset f
END
chmod 0644 etc/passwd etc/group etc/hosts etc/profile
