/* The CPUs in this process's affinity mask: sched_getaffinity and CPU_COUNT need _GNU_SOURCE,
 * which Swift's view of glibc does not define. */
#define _GNU_SOURCE
#include <sched.h>
#include "zoo_kernels.h"

int zoo_affinity_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
    return CPU_COUNT(&set);
}
