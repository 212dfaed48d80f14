/*
 * mpi_train.c (CLI) - `mpirun -np P hogmf train ...`: when a launcher started this process,
 * `train` hands the ratings it read to the MPI trainer (src/mpi_train.c) instead of
 * hogmf_train. Only rank 0 prints, calls the epoch callback and writes files; every rank
 * returns the same status. Built only with `make MPI=1`; without a launcher an MPI build
 * trains single-process exactly as the default build does.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "mpi_train.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

int cli_mpi_rank(void)
{
    /* Open MPI's mpirun, then PMIx (srun --mpi=pmix) and PMI (MPICH, srun --mpi=pmi2). */
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
    for (size_t j = 0; j < sizeof vars / sizeof vars[0]; j++) {
        const char *v = getenv(vars[j]);
        char *end;
        if (v && *v) {
            long r = strtol(v, &end, 10);
            if (!*end && r >= 0 && r < 1L << 30)
                return (int)r;
        }
    }
    return -1;
}

/* The exit code cli_report gives, without printing (ranks other than 0 stay silent). */
static int cli_mpi_exit_code(const hogmf_error *err, int writing)
{
    switch (err->status) {
    case HOGMF_OK: return EXIT_OK;
    case HOGMF_ERR_DIVERGED: return EXIT_DIVERGED;
    case HOGMF_ERR_NOMEM:
    case HOGMF_ERR_STOPPED: return EXIT_INTERNAL;
    case HOGMF_ERR_IO: return writing ? EXIT_INTERNAL : EXIT_INPUT;
    default: return EXIT_INPUT;
    }
}

/* Rank 0: the per-rank figures of an epoch, as a line (unless quiet) and, with --json, one
 * "mpi_rank" event per rank. */
static void report_ranks(cli_out *out, uint32_t epoch, const hogmf_mpi_rank_stats *rs, int P)
{
    double cmax = 0, csum = 0, comm = 0, ev = 0, evc = 0, bytes = 0;
    for (int q = 0; q < P; q++) {
        cmax = rs[q].compute_seconds > cmax ? rs[q].compute_seconds : cmax;
        csum += rs[q].compute_seconds;
        comm = rs[q].comm_seconds > comm ? rs[q].comm_seconds : comm;
        ev = rs[q].eval_seconds > ev ? rs[q].eval_seconds : ev;
        evc = rs[q].eval_comm_seconds > evc ? rs[q].eval_comm_seconds : evc;
        bytes = rs[q].bytes_sent > bytes ? rs[q].bytes_sent : bytes;
    }
    cli_note(out,
             "mpi epoch %u: %d ranks: sgd %.3f s mean, %.3f s slowest; ring wait %.3f s; "
             "eval %.3f s (ring wait %.3f s); sent %.2f MB per rank",
             epoch, P, csum / P, cmax, comm, ev, evc, bytes / 1e6);
    if (!out->json)
        return;
    for (int q = 0; q < P; q++) {
        cli_json_begin(out, "mpi_rank");
        cli_json_uint("epoch", epoch);
        cli_json_uint("rank", (uint64_t)q);
        cli_json_uint("ranks", (uint64_t)P);
        cli_json_num("threads", rs[q].threads);
        cli_json_num("users", rs[q].users);
        cli_json_num("items", rs[q].items);
        cli_json_num("updates", rs[q].updates);
        cli_json_num("compute_seconds", rs[q].compute_seconds);
        cli_json_num("comm_seconds", rs[q].comm_seconds);
        cli_json_num("eval_seconds", rs[q].eval_seconds);
        cli_json_num("eval_comm_seconds", rs[q].eval_comm_seconds);
        cli_json_num("bytes_sent", rs[q].bytes_sent);
        cli_json_num("sync_seconds", rs[q].sync_seconds);
        cli_json_end();
    }
}

static void drop_arrays(hogmf_ratings *r)
{
    if (!r)
        return;
    free(r->data);
    free(r->user_ids);
    free(r->item_ids);
    r->data = NULL;
    r->user_ids = r->item_ids = NULL;
}

/* ---------------------------------------------------------------- signals */

/* The first SIGINT, SIGTERM or SIGUSR1 asks for a stop after the current epoch; the ranks
 * agree on it (MPI_Allreduce) so that all stop together and write one checkpoint. mpirun
 * forwards SIGUSR1 to every rank and leaves the job running; on SIGINT and SIGTERM it sends
 * SIGTERM to the ranks and SIGKILL a few seconds later, so SIGUSR1 is the one for batch
 * systems (`scancel --signal=USR1`, `#SBATCH --signal=B:USR1@300`). */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void signals_set(int install)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGUSR1};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = install ? on_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = install ? SA_RESTART | SA_RESETHAND : 0;
    for (size_t j = 0; j < sizeof sigs / sizeof sigs[0]; j++)
        sigaction(sigs[j], &sa, NULL);
}

static const char *signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGUSR1";
}

/* ---------------------------------------------------------------- training */

/* Writes a checkpoint (collective); rank 0 says so. */
static hogmf_status save(cli_out *o, hogmf_mpi_trainer *t, const char *path, int rank,
                         hogmf_error *err)
{
    hogmf_status st = hogmf_mpi_trainer_save(t, path, err);
    if (st == HOGMF_OK && rank == 0) {
        cli_note(o, "checkpoint %s (epoch %u; also %s.state)", path,
                 hogmf_mpi_trainer_epochs(t), path);
        if (o->json) {
            cli_json_begin(o, "checkpoint");
            cli_json_str("path", path);
            cli_json_uint("epoch", hogmf_mpi_trainer_epochs(t));
            cli_json_end();
        }
    }
    return st;
}

int cli_train_mpi(cli_out *o, const cli_batch *b, hogmf_ratings *train, hogmf_ratings *valid,
                  const hogmf_params *p, hogmf_model **out)
{
    *out = NULL;
    int provided = 0, rank = 0, size = 1;
    hogmf_error err = {0};
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        err.status = HOGMF_ERR_IO;
        snprintf(err.msg, sizeof err.msg, "MPI_Init failed");
        return cli_report(&err, 0);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    hogmf_mpi_trainer *t = NULL;
    hogmf_mpi_rank_stats *rs = rank == 0 ? calloc((size_t)size, sizeof *rs) : NULL;
    int writing = 0; /* a failure is a checkpoint's write (internal), not the input's */
    stop_signal = 0;
    signals_set(1);
    hogmf_status st = hogmf_mpi_trainer_new(MPI_COMM_WORLD, train, valid, p, &t, &err);
    /* Each rank now holds its own blocks: the complete sets' arrays go (their counts stay,
     * for the caller's summary). */
    drop_arrays(train);
    drop_arrays(valid);
    if (st == HOGMF_OK && rank == 0)
        cli_note(o, "mpi: %d ranks x %d threads, stratified SGD over %d x %d blocks", size,
                 hogmf_mpi_trainer_threads(t), size, size);
    if (st == HOGMF_OK && b->resume) {
        st = hogmf_mpi_trainer_resume(t, b->resume, &err);
        if (st == HOGMF_OK && rank == 0)
            cli_note(o, "resuming from %s after epoch %u of %u", b->resume,
                     hogmf_mpi_trainer_epochs(t), p->epochs);
    }
    uint32_t since_save = 0;
    int sig = 0;
    while (st == HOGMF_OK && !hogmf_mpi_trainer_done(t)) {
        hogmf_epoch_stats es;
        st = hogmf_mpi_trainer_epoch(t, &es, &err);
        hogmf_mpi_trainer_rank_stats(t, rs);
        if (st != HOGMF_OK)
            break;
        int stop = 0;
        if (rank == 0) {
            if (p->on_epoch)
                stop = p->on_epoch(p->ctx, &es) != 0;
            report_ranks(o, es.epoch, rs, size);
        }
        MPI_Bcast(&stop, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (stop) {
            st = hogmf__fail(&err, HOGMF_ERR_STOPPED, 0, "training stopped after epoch %u",
                             es.epoch);
            break;
        }
        sig = stop_signal;
        MPI_Allreduce(MPI_IN_PLACE, &sig, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        if (sig)
            break;
        since_save++;
        if (b->every && since_save >= b->every && !hogmf_mpi_trainer_done(t)) {
            writing = 1;
            if ((st = save(o, t, b->checkpoint, rank, &err)) != HOGMF_OK)
                break;
            writing = 0;
            since_save = 0;
        }
    }
    int rc = EXIT_OK;
    if (st == HOGMF_OK && sig) {
        writing = 1;
        st = save(o, t, b->checkpoint, rank, &err);
        if (st == HOGMF_OK) {
            uint32_t done = hogmf_mpi_trainer_epochs(t);
            if (rank == 0) {
                cli_bar_clear(o);
                fprintf(stderr,
                        "hogmf: stopped by %s after epoch %u of %u; checkpoint written to %s; "
                        "continue with the same options and --resume %s\n",
                        signal_name(sig), done, p->epochs, b->checkpoint, b->checkpoint);
                if (o->json) {
                    cli_json_begin(o, "interrupted");
                    cli_json_str("signal", signal_name(sig));
                    cli_json_uint("epoch", done);
                    cli_json_str("checkpoint", b->checkpoint);
                    cli_json_end();
                }
            }
            rc = EXIT_INTERRUPTED;
        }
    } else if (st == HOGMF_OK) {
        if (b->every && since_save > 0) {
            writing = 1;
            st = save(o, t, b->checkpoint, rank, &err);
        }
        if (st == HOGMF_OK)
            st = hogmf_mpi_trainer_finish(t, out, &err);
    }
    if (st != HOGMF_OK) {
        if (rank == 0) {
            cli_bar_clear(o);
            rc = cli_report(&err, writing);
        } else {
            rc = cli_mpi_exit_code(&err, writing);
        }
    }
    hogmf_mpi_trainer_free(&t);
    free(rs);
    signals_set(0);
    MPI_Finalize();
    return rc;
}
