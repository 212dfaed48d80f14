/*
 * mpi_train.h - the MPI mode (built only with `make MPI=1`): stratified SGD across ranks in
 * the manner of DSGD, with Hogwild threads within each rank. Private to hogmf: the CLI is its
 * only caller, and the caller owns MPI_Init and MPI_Finalize. Every function here is
 * collective over the communicator and returns the same status on every rank.
 */
#ifndef HOGMF_MPI_TRAIN_H
#define HOGMF_MPI_TRAIN_H

#include <mpi.h>

#include "internal.h"

typedef struct hogmf_mpi_trainer hogmf_mpi_trainer;

/* What one rank did in the last epoch (seconds are wall time on that rank). */
typedef struct hogmf_mpi_rank_stats {
    double compute_seconds;   /* SGD on this rank's P sub-epochs */
    double comm_seconds;      /* blocked in the training ring: the transfer plus waiting for a
                               * slower neighbour */
    double eval_seconds;      /* the evaluation pass, its ring overlapped with it */
    double eval_comm_seconds; /* the part of eval_seconds blocked on the ring */
    double bytes_sent;        /* bytes this rank sent in the epoch (both rings) */
    double updates;           /* SGD updates this rank made (its training ratings) */
    double threads;           /* OpenMP threads this rank used */
    double users, items;      /* rows of its user block and of the item block it held first */
    double sync_seconds;      /* in the diagnostic barriers before each ring step (only with
                               * HOGMF_MPI_SYNC=1 in the environment; then comm_seconds and
                               * eval_comm_seconds are the transfers alone, and this is the
                               * time spent waiting for slower ranks) */
} hogmf_mpi_rank_stats;

/* Sets up training on `comm` (P ranks). Every rank passes the same complete `train` (and
 * `valid`, may be NULL) as read from the same files: ids are numbered identically everywhere.
 * Each rank keeps only the ratings of its user block, grouped by item block, and its own rows
 * of P; train and valid are not changed and may be freed when this returns. params as for
 * hogmf_trainer_new; params->log and on_epoch are called on rank 0 only; params->pin is
 * ignored (binding is the launcher's job). Returns HOGMF_OK and *out, or the first failing
 * rank's error (HOGMF_ERR_INVALID for bad parameters, HOGMF_ERR_EMPTY, HOGMF_ERR_NOMEM). */
hogmf_status hogmf_mpi_trainer_new(MPI_Comm comm, const hogmf_ratings *train,
                                   const hogmf_ratings *valid, const hogmf_params *params,
                                   hogmf_mpi_trainer **out, hogmf_error *err);

/* One epoch: P sub-epochs of SGD with the item blocks passed around the ring, then the
 * masked RMSE/MAE of the training and validation ratings (MPI_Allreduce). Fills *stats (may
 * be NULL) with the global figures; epoch_seconds is the slowest rank's SGD pass including
 * its ring. Returns HOGMF_OK or HOGMF_ERR_DIVERGED as hogmf_trainer_epoch does. */
hogmf_status hogmf_mpi_trainer_epoch(hogmf_mpi_trainer *t, hogmf_epoch_stats *stats,
                                     hogmf_error *err);

/* 1 when the epochs are used up or early stopping triggered (the same on every rank). */
int hogmf_mpi_trainer_done(const hogmf_mpi_trainer *t);
/* Epochs completed. */
uint32_t hogmf_mpi_trainer_epochs(const hogmf_mpi_trainer *t);
/* Threads per rank and ranks. */
int hogmf_mpi_trainer_threads(const hogmf_mpi_trainer *t);
int hogmf_mpi_trainer_ranks(const hogmf_mpi_trainer *t);

/* Gathers every rank's figures of the last epoch into all[0..P) on rank 0 (all may be NULL
 * on the other ranks). Collective; always succeeds. */
void hogmf_mpi_trainer_rank_stats(const hogmf_mpi_trainer *t, hogmf_mpi_rank_stats *all);

/* Gathers the model (the best epoch's when it was kept, as hogmf_trainer_finish) onto rank
 * 0, which gets *out; the other ranks get NULL. Returns HOGMF_OK or HOGMF_ERR_NOMEM. */
hogmf_status hogmf_mpi_trainer_finish(hogmf_mpi_trainer *t, hogmf_model **out,
                                      hogmf_error *err);

/* Checkpoint, gathered variant: rank 0 writes `path` (a model file of the current, not the
 * best, parameters; loadable as any model) and `path.state` (the training state in text:
 * epoch, learning rate, early-stopping counters, ring position, and the ranks; written last,
 * so a complete pair is the only thing a resume accepts), both atomically. With early
 * stopping the best epoch's parameters go to `path.best` as a model file. Returns HOGMF_OK
 * or HOGMF_ERR_IO / HOGMF_ERR_NOMEM. */
hogmf_status hogmf_mpi_trainer_save(hogmf_mpi_trainer *t, const char *path, hogmf_error *err);

/* Resumes from a checkpoint written by hogmf_mpi_trainer_save with the same training data,
 * parameters and number of ranks: every rank reads the files and keeps its own rows. With
 * --order blocks and one thread per rank the resumed run is bit-identical to one that was
 * never interrupted. Returns HOGMF_OK, HOGMF_ERR_IO, HOGMF_ERR_FORMAT (not a checkpoint) or
 * HOGMF_ERR_INVALID (it belongs to other data, parameters or another number of ranks). */
hogmf_status hogmf_mpi_trainer_resume(hogmf_mpi_trainer *t, const char *path,
                                      hogmf_error *err);

/* Frees a trainer (not collective) and sets *t to NULL; NULL is a no-op. */
void hogmf_mpi_trainer_free(hogmf_mpi_trainer **t);

#endif
