/* A stand-in for libcuda.so.1 exporting cuInit and cuDriverGetVersion with the driver API's
 * signatures. Only for tests on machines without an NVIDIA driver. -DHANG makes cuInit never
 * return and -DCRASH makes it die of SIGSEGV, as broken drivers do. */
#include <signal.h>
#include <unistd.h>

#ifndef CUDA
#define CUDA 12020
#endif
#ifndef INIT_RC
#define INIT_RC 0
#endif

int cuInit(unsigned int flags) {
    (void)flags;
#ifdef HANG
    for (;;) pause();
#endif
#ifdef CRASH
    raise(SIGSEGV);
#endif
    return INIT_RC;
}
int cuDriverGetVersion(int *version) { *version = CUDA; return 0; }
