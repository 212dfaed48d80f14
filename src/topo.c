/*
 * topo.c - the machine as hwloc sees it (packages, cores, hardware threads, caches, the
 * cpuset this process may run on) and thread pinning: one OpenMP thread per allowed core,
 * filled in order (compact) or spread across packages. A failed bind is reported once
 * through the log callback and training goes on unpinned. Memory placement is not done here:
 * the trainer first-touches factor rows from the threads that initialise them.
 */
#include "internal.h"

#include <hwloc.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

static uint64_t cache_size(hwloc_topology_t topo, hwloc_obj_type_t type)
{
    hwloc_obj_t obj = hwloc_get_obj_by_type(topo, type, 0);
    return obj && obj->attr ? obj->attr->cache.size : 0;
}

hogmf_status hogmf_topology_get(hogmf_topology *out, hogmf_error *err)
{
    memset(out, 0, sizeof *out);
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0 || hwloc_topology_load(topo) != 0)
        return hogmf__fail(err, HOGMF_ERR_IO, 0, "hwloc: cannot read the machine's topology");
    out->packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
    out->numa_nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    out->cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    out->pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    out->l2_bytes = cache_size(topo, HWLOC_OBJ_L2CACHE);
    out->l3_bytes = cache_size(topo, HWLOC_OBJ_L3CACHE);
    hwloc_const_cpuset_t allowed = hwloc_topology_get_allowed_cpuset(topo);
    hwloc_bitmap_list_snprintf(out->allowed, sizeof out->allowed, allowed);
    hwloc_cpuset_t bound = hwloc_bitmap_alloc();
    if (bound && hwloc_get_cpubind(topo, bound, HWLOC_CPUBIND_PROCESS) == 0) {
        hwloc_bitmap_and(bound, bound, allowed);
        hwloc_bitmap_list_snprintf(out->bound, sizeof out->bound, bound);
        out->usable_cores = hwloc_get_nbobjs_inside_cpuset_by_type(topo, bound, HWLOC_OBJ_CORE);
        out->usable_pus = hwloc_bitmap_weight(bound);
    } else {
        out->usable_cores = out->cores;
        out->usable_pus = out->pus;
    }
    hwloc_bitmap_free(bound);
    hwloc_topology_destroy(topo);
    return HOGMF_OK;
}

/* The core for thread t of nt among `ncores` usable cores: in order, or spread evenly so that
 * consecutive threads land on different packages and caches when there is room. */
static int core_for(hogmf_pin pin, int t, int nt, int ncores)
{
    if (pin == HOGMF_PIN_SPREAD && nt < ncores)
        return (int)((int64_t)t * ncores / nt);
    return t % ncores;
}

int hogmf__pin_threads(hogmf_pin pin, int threads, const hogmf_params *params)
{
    if (pin == HOGMF_PIN_NONE)
        return 0;
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0 || hwloc_topology_load(topo) != 0) {
        hogmf__log(params, 1, "thread pinning: hwloc cannot read the topology; not pinned");
        return -1;
    }
    hwloc_cpuset_t usable = hwloc_bitmap_alloc();
    if (!usable || hwloc_get_cpubind(topo, usable, HWLOC_CPUBIND_PROCESS) != 0)
        hwloc_bitmap_copy(usable, hwloc_topology_get_allowed_cpuset(topo));
    int ncores = hwloc_get_nbobjs_inside_cpuset_by_type(topo, usable, HWLOC_OBJ_CORE);
    int failed = 0;
    if (ncores <= 0) {
        failed = threads;
    } else {
        (void)threads; /* unused without OpenMP */
#pragma omp parallel num_threads(threads) default(none) shared(topo, usable, ncores, pin) \
    reduction(+ : failed)
        {
            int t = 0, nt = 1;
#ifdef _OPENMP
            t = omp_get_thread_num();
            nt = omp_get_num_threads();
#endif
            hwloc_obj_t core = hwloc_get_obj_inside_cpuset_by_type(
                topo, usable, HWLOC_OBJ_CORE, (unsigned)core_for(pin, t, nt, ncores));
            hwloc_cpuset_t set = core ? hwloc_bitmap_dup(core->cpuset) : NULL;
            if (set)
                hwloc_bitmap_and(set, set, usable);
            if (!set || hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD) != 0)
                failed++;
            hwloc_bitmap_free(set);
        }
    }
    if (failed)
        hogmf__log(params, 1, "thread pinning: %d of %d threads could not be bound (%d usable "
                              "cores); training goes on unpinned",
                   failed, threads, ncores);
    hwloc_bitmap_free(usable);
    hwloc_topology_destroy(topo);
    return failed ? -1 : 0;
}
