/* A stand-in for glibc's own version query, for tests that need a host older than this one.
 *
 * Loaded with LD_PRELOAD, this library comes first in the process's global symbol scope, so a
 * lookup of gnu_get_libc_version there (dlsym(RTLD_DEFAULT, ...), which is what
 * ctypes.CDLL(None).gnu_get_libc_version does) finds this function instead of glibc's. Nothing
 * else changes: the real glibc still runs the process. GLIBC_VERSION is set when compiling,
 * e.g. -DGLIBC_VERSION='"2.17"'.
 */
#ifndef GLIBC_VERSION
#define GLIBC_VERSION "2.17"
#endif

const char *gnu_get_libc_version(void) { return GLIBC_VERSION; }
