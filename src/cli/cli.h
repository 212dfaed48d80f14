/*
 * cli.h - what the hogmf subcommands share: option-value parsing that rejects junk, error
 * reporting with the documented exit codes, and the subcommand entry points.
 * Only the CLI prints and exits; the library reports through hogmf_error.
 */
#ifndef HOGMF_CLI_H
#define HOGMF_CLI_H

#include "hogmf.h"

#include <stdio.h>

/* Exit codes (documented in the README and `hogmf --help`). */
enum {
    EXIT_OK = 0,
    EXIT_INTERNAL = 1, /* out of memory, a failed write, a bug */
    EXIT_INPUT = 2,    /* bad input file, bad option or usage */
    EXIT_DIVERGED = 3, /* training diverged */
    EXIT_INTERRUPTED = 4 /* SIGINT or SIGTERM: stopped after an epoch, checkpoint written */
};

/* Prints "hogmf: MESSAGE" from err to stderr and returns the exit code for the status;
 * `writing` marks I/O errors while writing output (internal) rather than reading (input). */
int cli_report(const hogmf_error *err, int writing);
/* Prints "hogmf CMD: message" to stderr plus a hint to run --help; returns EXIT_INPUT. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict option values: the whole string must parse and be in range; 0 on success. */
int cli_parse_u32(const char *cmd, const char *opt, const char *s, uint32_t min, uint32_t max,
                  uint32_t *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max,
                     double *out);
int cli_parse_format(const char *cmd, const char *s, hogmf_format *out);
/* "unknown option" naming the option getopt rejected ('-Z' of a group -qZ); EXIT_INPUT. */
int cli_unknown_option(const char *cmd, char **argv);
/* One file a command reads or writes, for cli_check_paths: what it is ("-o", "--log",
 * "TRAIN_FILE") and its path (NULL: not given). */
typedef struct cli_path {
    const char *what;
    const char *path;
} cli_path;
/* Refuses (EXIT_INPUT, after a message naming both) an output that is the same file as an
 * input or as another output (same device and inode, or the same name for files not yet
 * created), and '-' as an output name. EXIT_OK otherwise. */
int cli_check_paths(const char *cmd, const cli_path *in, int nin, const cli_path *out, int nout);
/* Refuses (EXIT_INPUT, after a message) an output that cannot be created (hogmf_output_check),
 * before any long work starts. */
int cli_check_creatable(const char *cmd, const char *what, const char *path);
/* Appends " WORD" to the NUL-terminated buf (capacity cap), WORD being s as a POSIX shell
 * reads it: as is when plain, else in single quotes. Truncates at cap. */
void cli_shell_append(char *buf, size_t cap, const char *s);

/* --ids and --columns, for the commands that read ratings: add CLI_READ_LONGOPTS to the
 * option table and CLI_READ_HELP to the help; cli_read_option returns 1 when it took the
 * option, 0 when c is not one of them, -1 after reporting a bad value. */
enum { CLI_OPT_IDS = 1100, CLI_OPT_COLUMNS };
#define CLI_READ_LONGOPTS                                                                     \
    {"ids", required_argument, 0, CLI_OPT_IDS}, {"columns", required_argument, 0, CLI_OPT_COLUMNS}
#define CLI_READ_HELP                                                                         \
    "      --ids I         auto, numeric or string ids [auto: strings when the first\n"       \
    "                      line's are not numbers]\n"                                          \
    "      --columns C     USER,ITEM,RATING[,TIMESTAMP] of a wider file: 1-based numbers\n"  \
    "                      or header names, '-' for none\n"
int cli_read_option(const char *cmd, hogmf_read_options *ro, int c, char *arg);
/* Reads files for a model: string ids coded with the model's tables, numeric ids for a
 * numeric model. */
void cli_read_for_model(hogmf_read_options *ro, const hogmf_model *model);
/* A user's or item's id as text: its name with string ids, else the number. */
const char *cli_id(char *buf, size_t cap, const hogmf_names *names, uint32_t id);
/* Threads training uses when --threads is not given (all available processors). */
int cli_default_threads(void);

/* ---------------------------------------------------------------- progress and events
 * (progress.c) Human text goes to stderr: a progress bar on a terminal (not with TERM=dumb),
 * plain lines elsewhere, nothing but warnings and errors with quiet. With json, every event
 * is also one JSON object on stdout: {"event": NAME, "time": SECONDS_SINCE_START, ...}. */
typedef struct cli_out {
    int quiet;          /* --quiet */
    int json;           /* --json */
    int tty;            /* stderr is a terminal: bars */
    int bar_shown;      /* a bar occupies the last line of stderr */
    double t0;          /* start of the command, monotonic seconds */
    double phase_t0;    /* start of the current read or training */
    double last_draw;   /* last bar redraw or plain progress line */
    double last_json;   /* last JSON progress event */
    double read_seconds; /* duration of the last cli_read */
    uint32_t epochs;    /* maximum epochs of the training under way */
    const char *what;   /* the file being read */
} cli_out;

double cli_now(void); /* monotonic seconds */
/* Sets up a reporter; with json, cli_report also sends errors as "error" events. */
void cli_out_init(cli_out *o, int quiet, int json);
/* "hogmf: MESSAGE" on stderr unless quiet (a bar is cleared first). */
void cli_note(cli_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "hogmf: warning: MESSAGE" on stderr, even when quiet. */
void cli_warn(cli_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_bar_clear(cli_out *o);
/* hogmf_ratings_read with a bar (or a plain line every 10 s, or "read_progress" events
 * every second) and a "read" event on success. ro may be NULL for the defaults. */
hogmf_status cli_read(cli_out *o, const char *path, const hogmf_read_options *ro,
                      hogmf_ratings *out, hogmf_error *err);
/* Training: a "train" event; then per epoch the plain epoch line, a bar on a terminal and an
 * "epoch" event; at the end a "done" event (model_path may be NULL). */
void cli_train_begin(cli_out *o, const hogmf_params *p, size_t train_nnz, size_t valid_nnz);
void cli_epoch(cli_out *o, const hogmf_epoch_stats *s);
void cli_train_end(cli_out *o, const hogmf_model *model, const char *model_path);
/* Writing one event by hand: begin, any fields, end (stdout is flushed). */
void cli_json_begin(cli_out *o, const char *event);
void cli_json_str(const char *key, const char *value); /* NULL writes null */
void cli_json_num(const char *key, double value);      /* non-finite writes null */
void cli_json_float(const char *key, float value);     /* shortest form that reads back */
void cli_json_uint(const char *key, uint64_t value);
void cli_json_end(void);
/* An "error" event when a json reporter is set up (called by cli_report). */
void cli_json_error(const char *msg, int code);

/* ---------------------------------------------------------------- training options
 * (train_opts.c) The options every command that trains accepts (train, cv, tune, impute):
 * add CLI_TRAIN_SHORTOPTS to the getopt string and CLI_TRAIN_LONGOPTS to the option table,
 * and hand every option code to cli_train_option before the command's own switch. */
enum {
    CLI_OPT_LR = 1000, CLI_OPT_LR_DECAY, CLI_OPT_SCHEDULE_LR, CLI_OPT_REG, CLI_OPT_REG_BIAS,
    CLI_OPT_REG_P, CLI_OPT_REG_Q, CLI_OPT_L1, CLI_OPT_L1_P, CLI_OPT_L1_Q, CLI_OPT_NONNEG,
    CLI_OPT_INIT_SD, CLI_OPT_TOL, CLI_OPT_PATIENCE, CLI_OPT_DETERMINISTIC
};
#define CLI_TRAIN_SHORTOPTS "k:e:t:s:"
#define CLI_TRAIN_LONGOPTS                                                                    \
    {"factors", required_argument, 0, 'k'}, {"epochs", required_argument, 0, 'e'},          \
    {"threads", required_argument, 0, 't'}, {"seed", required_argument, 0, 's'},            \
    {"lr", required_argument, 0, CLI_OPT_LR},                                               \
    {"lr-decay", required_argument, 0, CLI_OPT_LR_DECAY},                                   \
    {"schedule-lr", required_argument, 0, CLI_OPT_SCHEDULE_LR},                             \
    {"reg", required_argument, 0, CLI_OPT_REG},                                             \
    {"reg-bias", required_argument, 0, CLI_OPT_REG_BIAS},                                   \
    {"reg-p", required_argument, 0, CLI_OPT_REG_P},                                         \
    {"reg-q", required_argument, 0, CLI_OPT_REG_Q}, {"l1", required_argument, 0, CLI_OPT_L1}, \
    {"l1-p", required_argument, 0, CLI_OPT_L1_P}, {"l1-q", required_argument, 0, CLI_OPT_L1_Q}, \
    {"nonneg", no_argument, 0, CLI_OPT_NONNEG},                                             \
    {"init-sd", required_argument, 0, CLI_OPT_INIT_SD},                                     \
    {"tol", required_argument, 0, CLI_OPT_TOL},                                             \
    {"patience", required_argument, 0, CLI_OPT_PATIENCE},                                   \
    {"deterministic", no_argument, 0, CLI_OPT_DETERMINISTIC}

/* The parameters being parsed (the caller's), and which options were given. */
typedef struct cli_train_opts {
    hogmf_params *p;  /* the caller's parameters, holding its defaults at the start */
    int schedule_set; /* --schedule-lr was given */
    int decay_set;    /* --lr-decay was given */
    int k_set, lr_set, reg_set, init_set; /* -k, --lr, a --reg*, --init-sd were given */
} cli_train_opts;

/* Parses into *p, which holds the defaults. */
void cli_train_opts_init(cli_train_opts *o, hogmf_params *p);
/* Applies one option: 1 when c is a training option and its value was good, 0 when c is
 * not a training option, -1 after reporting a bad value (the command exits with 2). */
int cli_train_option(const char *cmd, cli_train_opts *o, int c, const char *arg);
/* Call after the last option: --lr-decay without --schedule-lr selects the decay schedule. */
void cli_train_opts_finish(cli_train_opts *o);
/* Pins the search ranges of tp (tune, --auto) of the options given: they are not searched. */
void cli_train_pin(const cli_train_opts *o, hogmf_tune_params *tp);
/* The --auto search of train and cv: from the training options p (the base configuration;
 * those given on the command line are pinned), the hold-out fraction when one was given
 * (> 0) and SECONDS (0: the default budget, at most 600 s). */
void cli_auto_params(hogmf_auto_params *ap, const cli_train_opts *o, const hogmf_params *p,
                     double holdout, double seconds);
/* The hold-out fraction of train and cv: `given` when --holdout was given (>= 0), else
 * HOGMF_DEFAULT_HOLDOUT when early stopping needs validation ratings that nothing else
 * provides (no validation file, no --auto, which holds out its own, patience > 0), else 0. */
double cli_holdout(double given, int has_valid, int use_auto, const hogmf_params *p);
/* Writes the training options' help lines, with p's values as the defaults. */
void cli_train_help(FILE *out, const hogmf_params *p);
/* "constant", "decay", "bold" or "adagrad". */
const char *cli_schedule_name(hogmf_lr_schedule s);
/* Writes the options that reproduce p (k, epochs, lr, schedule, regularisation, ...) as a
 * command-line fragment starting with a space; returns the length (snprintf-style). */
int cli_train_args(char *buf, size_t cap, const hogmf_params *p);
/* Loads a model and, when foldin_path is not NULL, adds that fold-in file's users to it
 * (cmd_recommend.c). Returns an exit code after reporting; *model is NULL on failure. */
int cli_load_model_foldin(const char *model_path, const char *foldin_path,
                          hogmf_model **model);

/* ---------------------------------------------------------------- --auto (auto.c) */
/* Reads --auto's optional SECONDS: arg (--auto=S) or, when it is a number, the next word
 * (which is consumed). *seconds is 0 when none was given. 0, or -1 after reporting. */
int cli_auto_seconds(const char *cmd, int argc, char **argv, const char *arg, double *seconds);
/* "hogmf train OPTIONS [--validate V] -o MODEL TRAIN": the line that trains with p. */
void cli_auto_command(char *buf, size_t cap, const hogmf_params *p, const char *valid_path,
                      const char *model_path, const char *train_path);
/* One sentence on what a search chose and why. */
void cli_auto_explain(char *buf, size_t cap, const hogmf_auto_result *r);
/* train --auto: searches on a seeded hold-out of train (ap->holdout) or on valid (may be
 * NULL), reports the choice (stderr; stdout gets the command line, or with json an "auto"
 * event) and sets *p to the winner's final training parameters, callbacks cleared. Returns
 * an exit code after reporting any error. */
int cli_auto_search(cli_out *o, const hogmf_auto_params *ap, const hogmf_ratings *train,
                    const hogmf_ratings *valid, hogmf_params *p, const char *valid_path,
                    const char *model_path, const char *train_path);

/* ---------------------------------------------------------------- batch jobs (batch.c)
 * Checkpoints, resuming, stopping on SIGINT/SIGTERM between epochs, and memory limits. */
typedef struct cli_batch {
    const char *checkpoint; /* where checkpoints go (never NULL when training) */
    uint32_t every;         /* write one every N epochs and at the end; 0: only on a signal */
    const char *resume;     /* --resume FILE, or NULL */
    uint64_t max_memory;    /* --max-memory in bytes; 0: no limit */
    const char *model_path; /* the model to write at the end, under the signal handlers and
                             * with a checkpoint if that fails; NULL: the caller writes it */
} cli_batch;

/* A size with an optional K, M, G or T suffix (powers of 1024), e.g. "512M"; > 0. */
int cli_parse_size(const char *cmd, const char *opt, const char *s, uint64_t *out);
/* Prints the estimated memory to read path (unless quiet) and refuses (EXIT_INPUT, after a
 * message) when it exceeds b->max_memory. EXIT_OK otherwise. */
int cli_memory_check_read(cli_out *o, const cli_batch *b, const char *path);
/* The same for training once the sets are loaded. */
int cli_memory_check_train(cli_out *o, const cli_batch *b, const hogmf_ratings *train,
                           const hogmf_ratings *valid, const hogmf_params *p);
/* Trains (or resumes from b->resume) epoch by epoch, calling p->on_epoch, writing
 * checkpoints every b->every epochs and, on the first SIGINT or SIGTERM, after the current
 * epoch (exit code EXIT_INTERRUPTED); then writes b->model_path (a signal meanwhile, or a
 * failed write, leaves a checkpoint too). Errors are reported; returns the exit code, and
 * *out the model on EXIT_OK. */
int cli_batch_train(cli_out *o, const cli_batch *b, hogmf_ratings *train,
                    const hogmf_ratings *valid, const hogmf_params *p, hogmf_model **out);

/* Subcommands: argc/argv start at the subcommand's name. Each returns an exit code. */
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_split(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_topo(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_cv(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_foldin(int argc, char **argv);
int cmd_recommend(int argc, char **argv);
int cmd_impute(int argc, char **argv);

#ifdef HOGMF_MPI
/* ---------------------------------------------------------------- MPI mode
 * (mpi_train.c, built with MPI=1) `mpirun -np P hogmf train ...` with the same options. */
/* This process's rank under an MPI launcher (read from its environment before MPI_Init),
 * or -1 when no launcher started it: then `train` runs single-process as without MPI=1. */
int cli_mpi_rank(void);
/* cli_batch_train across the ranks: MPI_Init, DSGD, MPI_Finalize. train and valid are the
 * sets every rank read; their arrays are freed here (the counts stay). Checkpoints are the
 * gathered kind (b->checkpoint, .best and .state, written by rank 0); SIGUSR1, SIGINT and
 * SIGTERM stop all ranks after an epoch with a checkpoint. Only rank 0 prints and calls
 * p's callbacks. Returns the exit code (the same on every rank); *out is the model on rank
 * 0 after EXIT_OK, NULL on the other ranks. */
int cli_train_mpi(cli_out *o, const cli_batch *b, hogmf_ratings *train, hogmf_ratings *valid,
                  const hogmf_params *p, hogmf_model **out);
#endif

#endif
