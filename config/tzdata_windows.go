package config

// Windows has no IANA time zone database, and Go looks for one only in
// $GOROOT, which a store PC does not have: without this, every store's
// site.timezone but UTC is "not a known time zone" on Windows (found by the
// Wine tests in packaging/wintest). It adds about 450 KB to the Windows
// binaries, which all load their configuration through this package.
import _ "time/tzdata"
