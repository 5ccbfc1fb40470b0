// Package sysfstest unpacks sysfs fixture archives for tests, as
// node_exporter unpacks its sys.ttar: sysfs names contain ':' (1-1:1.0,
// 0003:05E0:1200.0001), which Go module zips and Windows checkouts do not
// allow in file names, so the trees are kept as text and laid out in a
// temporary directory when a test runs.
//
// An archive is text. Lines before the first header are comments. Each
// file starts with a header line:
//
//	-- bus/usb/devices/1-1 -> ../../../devices/pci0000:00/usb1/1-1 --   a symlink
//	-- devices/pci0000:00/usb1/1-1/idVendor --                          a text file; the lines below are its content
//	-- devices/…/report_descriptor (hex) --                             a binary file written as hex pairs
//	-- devices/…/power/ --                                              an empty directory
package sysfstest
