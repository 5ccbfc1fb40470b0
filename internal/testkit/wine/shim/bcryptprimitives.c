/*
 * Test tooling, never shipped: a bcryptprimitives.dll for Debian's Wine 8.0,
 * which lacks it. Go 1.26's Windows runtime loads ProcessPrng from
 * bcryptprimitives.dll (present on Windows 10 and later) from System32 only
 * and stops at start without it ("bcryptprimitives.dll not found"). This one
 * exports ProcessPrng over RtlGenRandom (advapi32's SystemFunction036),
 * which Wine has. internal/testkit/wine builds it with Debian's
 * x86_64-w64-mingw32-gcc into each test's Wine prefix.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* ProcessPrng fills data with len random bytes; it never fails on Windows,
 * and Go's runtime treats FALSE as fatal. RtlGenRandom takes a ULONG, so
 * larger requests go in pieces. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

/* Built with -nostdlib: this is the whole entry point. */
BOOL WINAPI DllMainCRTStartup(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
	(void)instance;
	(void)reason;
	(void)reserved;
	return TRUE;
}
