package zvt

import "syscall"

// Winsock reports a reset connection as WSAECONNRESET, which is not
// syscall.ECONNRESET on Windows.
func init() { closedByPeer = append(closedByPeer, syscall.WSAECONNRESET) }
