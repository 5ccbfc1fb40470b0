#!/bin/sh
# @NAME@ preremove: the deb's prerm and the rpm's %preun, rendered by
# scripts/package from packaging/linux/preremove.sh.
#
#   deb: $1 = remove (also before purge), upgrade, deconfigure, failed-upgrade
#   rpm: $1 = 0 when the package is erased, 1 or more on an upgrade
#
# Upgrades leave the service alone (postinstall restarts it). On removal it is
# stopped and disabled. DPKG_ROOT: see postinstall.
set -e

name=@NAME@
unit=@NAME@.service
statedir=@STATEDIR@
root=${DPKG_ROOT:-}

case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac

if command -v systemctl >/dev/null 2>&1; then
	if [ -n "$root" ]; then
		systemctl --root="$root" disable "$unit" >/dev/null 2>&1 || true
	elif [ -d /run/systemd/system ]; then
		systemctl stop "$unit" || true
		systemctl disable "$unit" || true
	else
		systemctl --root=/ disable "$unit" >/dev/null 2>&1 || true
	fi
fi
# Reinstalling after a remove (deb keeps the configuration) enables the
# service again: see postinstall.
if [ -d "$root$statedir" ]; then
	: >"$root$statedir/.$name-removed"
fi
exit 0
