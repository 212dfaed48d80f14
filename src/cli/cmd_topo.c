/*
 * cmd_topo.c - `hogmf topo`: what hwloc found (packages, cores, threads, caches, the cpuset
 * this process may use), the threads training would use by default, and the SGD kernel.
 */
#include "cli.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include <string.h>

static const char help[] =
    "usage: hogmf topo\n"
    "\n"
    "Prints the machine's topology as hwloc reports it, the cpuset this process may run on\n"
    "(taskset, cgroups and batch schedulers narrow it), the default thread count and the\n"
    "instruction set of the SGD kernel. Cache sizes are the firmware's claims.\n";

int cmd_topo(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(help, stdout);
        return EXIT_OK;
    }
    if (argc > 1)
        return cli_usage_error("topo", "unexpected argument '%s'", argv[1]);
    hogmf_topology t;
    hogmf_error err = {0};
    if (hogmf_topology_get(&t, &err) != HOGMF_OK)
        return cli_report(&err, 0);
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_num_procs();
#endif
    printf("packages       %d\n", t.packages);
    printf("numa_nodes     %d\n", t.numa_nodes);
    printf("cores          %d\n", t.cores);
    printf("pus            %d\n", t.pus);
    printf("l2_bytes       %llu\n", (unsigned long long)t.l2_bytes);
    printf("l3_bytes       %llu\n", (unsigned long long)t.l3_bytes);
    printf("allowed_cpuset %s\n", t.allowed);
    printf("bound_cpuset   %s\n", t.bound);
    printf("usable_cores   %d\n", t.usable_cores);
    printf("usable_pus     %d\n", t.usable_pus);
    printf("threads        %d\n", threads);
    printf("kernel         %s\n", hogmf_kernel_name());
    return EXIT_OK;
}
