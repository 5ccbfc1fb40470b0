# Sourced by scripts/test before it installs packages, and by
# scripts/redmine-test-env before every Redmine command.
#
# Debian 12's redmine runs bundler in its postinst and at every start. The
# Ruby security update ships Bundler 2.3.27 as a default gem, which cannot
# find the Debian-packaged gems ("Could not find racc-1.6.2.gem" or
# "rotp-6.2.0.gem"); pinning bundler to Debian's own ruby-bundler version
# fixes it. Without the pin the postinst fails, leaves redmine half
# configured, and every later apt-get on the machine fails with it.
redmine_bundler_version() {
	local v
	v=$(dpkg-query -W -f='${Version}' ruby-bundler 2>/dev/null) ||
		v=$(apt-cache policy ruby-bundler 2>/dev/null | sed -n 's/^ *Candidate: *//p')
	v=${v%%-*}
	[[ -n "$v" && "$v" != "(none)" ]] && echo "$v"
}
if v=$(redmine_bundler_version); then
	export BUNDLER_VERSION="$v"
fi
unset v
