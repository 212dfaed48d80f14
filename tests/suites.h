/*
 * suites.h - one Check suite per library module; check_main.c runs them all.
 * Helpers shared by the suites live in check_main.c.
 */
#ifndef HOGMF_TEST_SUITES_H
#define HOGMF_TEST_SUITES_H

#include <check.h>

#include "hogmf.h"

Suite *ratings_suite(void); /* check_ratings.c: formats, ids, duplicates, malformed input */
Suite *model_suite(void);   /* check_model.c: save/load round trip, corrupt files, predict */
Suite *sgd_suite(void);     /* check_sgd.c: gradient vs finite differences, one 2x2 step */
Suite *schedule_suite(void); /* check_schedule.c: the grid, tile orders that keep threads apart */
Suite *train_suite(void);   /* check_train.c: masking, seed matrix, planted rank, threads */
Suite *gen_suite(void);     /* check_gen.c: synthetic data and splits */
Suite *input_suite(void);   /* check_input.c: gzip, shrinking and unreadable files, estimates */
Suite *checkpoint_suite(void); /* check_checkpoint.c: resume bit for bit, corrupt checkpoints */
Suite *interop_suite(void); /* check_interop.c: LIBMF text models, CSV factor tables */

Suite *cv_suite(void);      /* check_cv.c: folds, splitting by a mask, mean and sd */
Suite *foldin_suite(void);  /* check_foldin.c: ridge fold-in, its file, the model with the rows */
Suite *recommend_suite(void); /* check_recommend.c: top-N against brute force, seen lists */
Suite *dense_suite(void);   /* check_dense.c: dense matrices read and written (impute) */
Suite *tune_suite(void);    /* check_tune.c: the search, reproducible best trial */
Suite *eval_suite(void);   /* check_eval.c: unknown ids, clipping, NaN and runaway counts */
Suite *names_suite(void);   /* check_names.c: string ids, sets from arrays, --columns */

/* Path of a fixture: $HOGMF_FIXTURES/name (default "fixtures/name"); static buffer. */
const char *fixture(const char *name);
/* A fresh temporary file path under $TMPDIR (default /tmp) with the given suffix. */
const char *temp_path(const char *suffix);
/* Sets HOGMF_ISA to isa ("portable", "avx2"), or unsets it for NULL (the best kernel). The
 * library reads it once per process; Check runs each test in its own process. */
void use_isa(const char *isa);
/* Marks the running check as skipped: prints "SKIPPED: why" and adds it to the runner's
 * count of skips (the check then returns without asserting anything). */
void skip_check(const char *why);

#endif
