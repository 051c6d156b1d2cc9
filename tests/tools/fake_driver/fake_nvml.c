/* A stand-in for libnvidia-ml.so.1 exporting the NVML symbols cudaenv's probe calls, with the
 * same C signatures. Only for tests on machines without an NVIDIA driver. Behaviour is fixed at
 * compile time by -D flags (see __init__.py). */
#include <string.h>

#ifndef DRIVER
#define DRIVER "535.104.05"
#endif
#ifndef CUDA
#define CUDA 12020
#endif
#ifndef INIT_RC
#define INIT_RC 0
#endif
#ifndef GPU_COUNT
#define GPU_COUNT 1
#endif
#ifndef GPU_NAME
#define GPU_NAME "NVIDIA A100-SXM4-40GB"
#endif
#ifndef GPU_MEMORY
#define GPU_MEMORY 42298834944ULL
#endif
#ifndef CC_MAJOR
#define CC_MAJOR 8
#endif
#ifndef CC_MINOR
#define CC_MINOR 0
#endif

typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef void *nvmlDevice_t;
static int initialised = 0;
int shutdowns = 0;

int nvmlInit_v2(void) { if (INIT_RC == 0) initialised = 1; return INIT_RC; }
int nvmlShutdown(void) { initialised = 0; shutdowns++; return 0; }
int nvmlGetShutdownCount(void) { return shutdowns; }
const char *nvmlErrorString(int rc) {
    switch (rc) {
    case 9: return "Driver Not Loaded";
    case 18: return "Driver/library version mismatch";
    default: return "Unknown Error";
    }
}
int nvmlSystemGetDriverVersion(char *out, unsigned int length) {
    if (!initialised) return 1;
    if (strlen(DRIVER) + 1 > length) return 7; /* NVML_ERROR_INSUFFICIENT_SIZE */
    strcpy(out, DRIVER);
    return 0;
}
int nvmlSystemGetCudaDriverVersion_v2(int *version) { *version = CUDA; return 0; }
int nvmlDeviceGetCount_v2(unsigned int *count) { *count = GPU_COUNT; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (index >= GPU_COUNT) return 2; /* NVML_ERROR_INVALID_ARGUMENT */
    *device = (nvmlDevice_t)(unsigned long)(index + 1);
    return 0;
}
int nvmlDeviceGetName(nvmlDevice_t device, char *out, unsigned int length) {
    (void)device;
    if (strlen(GPU_NAME) + 1 > length) return 7;
    strcpy(out, GPU_NAME);
    return 0;
}
int nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
    (void)device;
    memory->total = GPU_MEMORY; memory->free = GPU_MEMORY; memory->used = 0;
    return 0;
}
int nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor) {
    (void)device;
    *major = CC_MAJOR; *minor = CC_MINOR;
    return 0;
}
