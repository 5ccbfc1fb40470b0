#!/bin/sh
# @NAME@ postremove: the deb's postrm and the rpm's %postun, rendered by
# scripts/package from packaging/linux/postremove.sh.
#
#   deb: $1 = remove, purge, upgrade, failed-upgrade, abort-install, ...
#   rpm: $1 = 0 when the package is erased, 1 or more on an upgrade
#
# "remove" keeps the configuration and the outbox; "purge" (deb only) deletes
# both. The storewatch user stays: files elsewhere may still belong to it.
# DPKG_ROOT: see postinstall.
set -e

name=@NAME@
statedir=@STATEDIR@
confdir=/etc/storewatch
config=@CONFIG@
root=${DPKG_ROOT:-}

reload() {
	if [ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		systemctl daemon-reload || true
	fi
}

case "$1" in
remove | 0)
	reload
	;;
purge)
	reload
	# dpkg has deleted the conffiles; this removes what is left of them
	# (backups, the admin's copies) and the outbox.
	rm -f "$root$confdir/$config" "$root$confdir/$config".*
	rmdir "$root$confdir" 2>/dev/null || true
	rm -rf "$root$statedir"
	rm -f "$root/etc/default/$name".dpkg-*
	;;
esac
exit 0
