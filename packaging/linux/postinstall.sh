#!/bin/sh
# @NAME@ postinstall: the deb's postinst and the rpm's %post. scripts/package
# renders it from packaging/linux/postinstall.sh, filling in the @...@ values.
#
#   deb: $1 = configure, $2 = the version configured before (empty on a first
#        install; also set when reinstalling after "remove", see preremove)
#   rpm: $1 = 1 on a first install, 2 or more on an upgrade
#
# DPKG_ROOT, set by dpkg --root, is the system being installed into: every
# file this script reads or writes is under it, and with it set the running
# system (its users, its systemd) is never touched.
set -e

name=@NAME@
unit=@NAME@.service
user=storewatch
groups=@GROUPS@
statedir=@STATEDIR@
confdir=/etc/storewatch
config=@CONFIG@
root=${DPKG_ROOT:-}

case "$1" in
configure) first=; [ -n "$2" ] || first=yes ;;
1) first=yes ;;
[0-9]*) first= ;;
*) exit 0 ;; # abort-upgrade, abort-remove, ...: nothing was done to undo
esac
# preremove leaves this mark when it disables the unit on "remove"; a
# reinstall after that is a first install for the service.
removed_mark=$root$statedir/.$name-removed
if [ -e "$removed_mark" ]; then
	first=yes
	rm -f "$removed_mark"
fi

# lookup DB NAME prints NAME's entry in the target system's passwd or group
# database.
lookup() {
	if [ -z "$root" ]; then
		getent "$1" "$2" || true
	else
		grep "^$2:" "$root/etc/$1" 2>/dev/null || true
	fi
}
# shadow COMMAND ARGS... runs useradd or usermod on the target system.
shadow() {
	cmd=$1
	shift
	if [ -z "$root" ]; then
		"$cmd" "$@"
	else
		"$cmd" --prefix "$root" "$@"
	fi
}

# The service account: a system user with its own group, no login, home in
# the state directory.
if [ -z "$(lookup passwd "$user")" ]; then
	if [ -n "$(lookup group "$user")" ]; then
		group_opt="--gid $user"
	else
		group_opt=--user-group
	fi
	# shellcheck disable=SC2086 # group_opt is two words or one
	shadow useradd --system $group_opt --no-create-home --home-dir "$statedir" \
		--shell /usr/sbin/nologin --comment "storewatch services" "$user"
fi
# Supplementary groups (serial ports, USB devices), those the system has.
for group in $(echo "$groups" | tr ',' ' '); do
	entry=$(lookup group "$group")
	[ -n "$entry" ] || continue
	case ",$(echo "$entry" | cut -d: -f4)," in
	*",$user,"*) ;;
	*) shadow usermod --append --groups "$group" "$user" ;;
	esac
done

# Numeric ids: chown must not look names up in the running system's database
# when installing into another root.
uid=$(lookup passwd "$user" | cut -d: -f3)
gid=$(lookup group "$user" | cut -d: -f3)
if [ -z "$uid" ] || [ -z "$gid" ]; then
	echo "$name: user or group $user not found after creating it" >&2
	exit 1
fi

# The state directory (the outbox) belongs to the service; the configuration
# is root's, readable by the service's group only.
mkdir -p "$root$statedir"
chown "$uid:$gid" "$root$statedir"
chmod 0750 "$root$statedir"
mkdir -p "$root$confdir"
chown "0:$gid" "$root$confdir"
chmod 0750 "$root$confdir"
for f in "$root$confdir/$config" "$root$confdir/$config.example"; do
	if [ -f "$f" ]; then
		chown "0:$gid" "$f"
		chmod 0640 "$f"
	fi
done

# systemd: enable on a first install (an upgrade keeps what the admin chose),
# start it where systemd runs, restart it on upgrade if it was running.
if ! command -v systemctl >/dev/null 2>&1; then
	exit 0
fi
if [ -n "$root" ]; then
	# Another system: only its unit links.
	[ -z "$first" ] || systemctl --root="$root" enable "$unit" >/dev/null 2>&1 || true
elif [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	if [ -n "$first" ]; then
		systemctl enable "$unit" || true
		systemctl start "$unit" ||
			echo "$name did not start: see journalctl -u $name, then edit $confdir/$config" >&2
	else
		systemctl try-restart "$unit" || true
	fi
elif [ -n "$first" ]; then
	# systemd installed but not running (a container or an image being
	# built): enable it for the next boot, start nothing.
	systemctl --root=/ enable "$unit" >/dev/null 2>&1 || true
fi
exit 0
