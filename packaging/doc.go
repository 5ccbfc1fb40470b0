// Package packaging holds what turns the commands into installable packages,
// and the tests that open those packages and check them.
//
//   - nfpm.yaml and linux/: a deb and an rpm each for storeagent and
//     storehub (nfpm v2.44.0): the binary, the systemd unit from systemd/,
//     the configuration under /etc/storewatch, the state directory, and the
//     maintainer scripts that create the storewatch user and enable the
//     service.
//   - windows/: the MSI (Debian's wixl), for storeagent only: storeagent.exe
//     in Program Files, the service, the configuration under
//     %ProgramData%\storewatch.
//   - systemd/ and examples/: the unit internal/svc renders and the example
//     configurations, both shipped as they are.
//
// scripts/package builds everything into dist/. The tests here read dist/
// (STOREWATCH_DIST, which scripts/test sets): file lists, permissions,
// configuration files, maintainer scripts, the MSI's tables, the version
// stamped into every cross-built binary, and an install, upgrade, remove and
// purge of each .deb (and the rpm's scriptlets) into a throwaway root that
// must leave the host untouched, storehub started there as the service user,
// and the packages of both programs sharing one machine.
// See README.md for the layout of the installed files.
package packaging
