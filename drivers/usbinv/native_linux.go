package usbinv

// defaultBackend on Linux reads sysfs.
const defaultBackend = "sysfs"
