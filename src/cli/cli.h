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
    EXIT_DIVERGED = 3  /* training diverged */
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

/* Subcommands: argc/argv start at the subcommand's name. Each returns an exit code. */
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_split(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_topo(int argc, char **argv);

#endif
