/*
 * trainer.h - the training state between epochs (private). hogmf_train() drives it; the
 * checkpoint code saves and restores it; other drivers (MPI) may run its steps themselves.
 */
#ifndef HOGMF_TRAINER_H
#define HOGMF_TRAINER_H

#include "internal.h"

struct hogmf_trainer {
    hogmf_params params;   /* copy; callbacks kept */
    int threads;           /* resolved thread count */
    hogmf_ratings *train;  /* borrowed; its ratings are reordered in place */
    hogmf_rating *vx;      /* validation ratings in model indices (owned), or NULL */
    size_t vnnz;           /* number of validation ratings */
    hogmf_model *model;    /* the model being trained (owned until finish) */
    int keep_best;         /* a copy of the best epoch is kept (validation and patience) */
    float *bestP, *bestQ, *bestbu, *bestbi; /* that copy */
    uint32_t epoch;        /* epochs completed */
    float lr;              /* learning rate of the next epoch */
    double best_valid;     /* lowest validation RMSE so far (INFINITY before any) */
    double best_valid_train; /* training RMSE at that epoch */
    double ref_valid;      /* validation RMSE the patience counter compares against */
    double best_train;     /* lowest training RMSE so far */
    uint32_t since;        /* epochs without an improvement of tol relative to ref_valid */
    uint32_t best_epoch;   /* epoch of best_valid */
    int stop;              /* early stopping has triggered */
    double last_monitor;   /* bold driver: RMSE it compared against last epoch (INFINITY) */
    float *gp, *gq;        /* adagrad: per-row accumulated squared gradients of P and Q, and
                            * of the biases in gbu, gbi (NULL unless HOGMF_LR_ADAGRAD) */
    float *gbu, *gbi;
    hogmf_grid *grid;      /* tiles of the training ratings (order or schedule "blocks") */
    uint32_t *old_u, *old_i; /* with a grid: the set's own index of each model row; the set's
                              * u, i fields hold model rows while the trainer lives */
};

#endif
