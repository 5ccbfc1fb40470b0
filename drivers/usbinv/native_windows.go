package usbinv

// defaultBackend on Windows asks SetupAPI.
const defaultBackend = "setupapi"
