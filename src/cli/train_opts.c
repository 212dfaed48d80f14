/*
 * train_opts.c - the training options shared by train, cv, tune and impute: one parser, one
 * help text and the reverse (parameters back to a command line, for `hogmf tune`), so the
 * commands cannot drift apart. Options that only one command has stay in that command.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

void cli_train_opts_init(cli_train_opts *o, hogmf_params *p)
{
    memset(o, 0, sizeof *o);
    o->p = p;
}

static const char *const schedule_names[] = {"constant", "decay", "bold", "adagrad"};

const char *cli_schedule_name(hogmf_lr_schedule s)
{
    return (unsigned)s < sizeof schedule_names / sizeof schedule_names[0] ? schedule_names[s]
                                                                           : "?";
}

/* Reads a regularisation weight into *out (float). */
static int reg(const char *cmd, const char *opt, const char *arg, float *out)
{
    double x;
    if (cli_parse_double(cmd, opt, arg, 0, 1e6, &x))
        return -1;
    *out = (float)x;
    return 1;
}

int cli_train_option(const char *cmd, cli_train_opts *o, int c, const char *arg)
{
    hogmf_params *p = o->p;
    double x;
    uint32_t u32;
    o->k_set |= c == 'k';
    o->lr_set |= c == CLI_OPT_LR;
    o->reg_set |= c == CLI_OPT_REG || c == CLI_OPT_REG_BIAS || c == CLI_OPT_REG_P ||
                  c == CLI_OPT_REG_Q;
    o->init_set |= c == CLI_OPT_INIT_SD;
    switch (c) {
    case 'k': return cli_parse_u32(cmd, "--factors", arg, 1, 65536, &p->k) ? -1 : 1;
    case 'e': return cli_parse_u32(cmd, "--epochs", arg, 1, 1000000, &p->epochs) ? -1 : 1;
    case 't':
        if (cli_parse_u32(cmd, "--threads", arg, 1, 1024, &u32))
            return -1;
        p->threads = (int)u32;
        return 1;
    case 's': return cli_parse_u64(cmd, "--seed", arg, &p->seed) ? -1 : 1;
    case CLI_OPT_LR:
        if (cli_parse_double(cmd, "--lr", arg, 1e-12, 1e3, &x))
            return -1;
        p->lr = (float)x;
        return 1;
    case CLI_OPT_LR_DECAY:
        o->decay_set = 1;
        return reg(cmd, "--lr-decay", arg, &p->lr_decay);
    case CLI_OPT_SCHEDULE_LR:
        for (size_t s = 0; s < sizeof schedule_names / sizeof schedule_names[0]; s++)
            if (!strcmp(arg, schedule_names[s])) {
                p->schedule_lr = (hogmf_lr_schedule)s;
                o->schedule_set = 1;
                return 1;
            }
        cli_usage_error(cmd, "--schedule-lr: expected constant, decay, bold or adagrad, "
                             "found '%s'", arg);
        return -1;
    case CLI_OPT_REG:
        if (reg(cmd, "--reg", arg, &p->lambda_p) < 0)
            return -1;
        p->lambda_b = p->lambda_q = p->lambda_p;
        return 1;
    case CLI_OPT_REG_BIAS: return reg(cmd, "--reg-bias", arg, &p->lambda_b);
    case CLI_OPT_REG_P: return reg(cmd, "--reg-p", arg, &p->lambda_p);
    case CLI_OPT_REG_Q: return reg(cmd, "--reg-q", arg, &p->lambda_q);
    case CLI_OPT_L1:
        if (reg(cmd, "--l1", arg, &p->l1_p) < 0)
            return -1;
        p->l1_q = p->l1_p;
        return 1;
    case CLI_OPT_L1_P: return reg(cmd, "--l1-p", arg, &p->l1_p);
    case CLI_OPT_L1_Q: return reg(cmd, "--l1-q", arg, &p->l1_q);
    case CLI_OPT_NONNEG: p->nonneg = 1; return 1;
    case CLI_OPT_DETERMINISTIC: p->deterministic = 1; return 1;
    case CLI_OPT_INIT_SD:
        if (cli_parse_double(cmd, "--init-sd", arg, 0, 1e3, &x))
            return -1;
        p->init_sd = (float)x;
        return 1;
    case CLI_OPT_TOL: return cli_parse_double(cmd, "--tol", arg, 0, 0.999, &p->tol) ? -1 : 1;
    case CLI_OPT_PATIENCE:
        return cli_parse_u32(cmd, "--patience", arg, 0, 1000000, &p->patience) ? -1 : 1;
    default: return 0;
    }
}

void cli_train_opts_finish(cli_train_opts *o)
{
    if (o->decay_set && !o->schedule_set && o->p->lr_decay > 0)
        o->p->schedule_lr = HOGMF_LR_DECAY;
}

void cli_train_pin(const cli_train_opts *o, hogmf_tune_params *tp)
{
    if (o->k_set)
        tp->k_min = tp->k_max = tp->base.k;
    if (o->lr_set)
        tp->lr_min = tp->lr_max = tp->adagrad_lr_min = tp->adagrad_lr_max = tp->base.lr;
    if (o->decay_set)
        tp->decay_max = 0;
    if (o->reg_set)
        tp->reg_min = tp->reg_max = 0;
    if (o->init_set)
        tp->init_min = tp->init_max = 0;
}

void cli_train_help(FILE *out, const hogmf_params *p)
{
    fprintf(out,
            "  -k, --factors K        latent factors [%u]\n"
            "  -e, --epochs N         maximum epochs [%u]\n"
            "      --lr X             learning rate (of the first epoch) [%g]\n"
            "      --schedule-lr S    constant, decay (lr / (1 + lr-decay (t - 1))), bold\n"
            "                         (x1.05 while the RMSE improves, x0.5 when not) or\n"
            "                         adagrad (per-row adaptive rate) [%s]\n"
            "      --lr-decay X       the decay schedule's X; alone it selects decay [%g]\n"
            "      --reg X            L2 regularisation of biases, P and Q [%g/%g/%g]\n"
            "      --reg-bias X       ... of the biases only\n"
            "      --reg-p X          ... of the user factors P only\n"
            "      --reg-q X          ... of the item factors Q only\n"
            "      --l1 X             L1 regularisation of P and Q [%g/%g]\n"
            "      --l1-p X, --l1-q X ... of P only, of Q only\n"
            "      --nonneg           keep the factors non-negative%s\n"
            "      --init-sd X        standard deviation of the initial factors [%g]\n"
            "  -t, --threads N        threads [all cores]\n"
            "      --deterministic    seeded rounds of tiles that share no user or item, a\n"
            "                         tile after its blocks' earlier rounds: the model depends\n"
            "                         on the data, options and seed, not on the threads%s\n"
            "  -s, --seed N           random seed [%llu]\n"
            "      --tol X            relative validation improvement that counts [%g]\n"
            "      --patience N       stop after N epochs without it, keep the best epoch;\n"
            "                         0 never stops early [%u]\n",
            p->k, p->epochs, (double)p->lr, cli_schedule_name(p->schedule_lr),
            (double)p->lr_decay, (double)p->lambda_b, (double)p->lambda_p, (double)p->lambda_q,
            (double)p->l1_p, (double)p->l1_q, p->nonneg ? " [on]" : "", (double)p->init_sd,
            p->deterministic ? " [on]" : "", (unsigned long long)p->seed, p->tol, p->patience);
}

int cli_train_args(char *buf, size_t cap, const hogmf_params *p)
{
    int n = snprintf(buf, cap, " -k %u -e %u --lr %.4g --schedule-lr %s", p->k, p->epochs,
                     (double)p->lr, cli_schedule_name(p->schedule_lr));
#define APPEND(...)                                                                          \
    do {                                                                                     \
        size_t used = (size_t)n < cap ? (size_t)n : cap;                                     \
        n += snprintf(buf + used, cap - used, __VA_ARGS__);                                  \
    } while (0)
    if (p->schedule_lr == HOGMF_LR_DECAY)
        APPEND(" --lr-decay %.4g", (double)p->lr_decay);
    if (p->lambda_b == p->lambda_p && p->lambda_p == p->lambda_q)
        APPEND(" --reg %.4g", (double)p->lambda_p);
    else
        APPEND(" --reg-bias %.4g --reg-p %.4g --reg-q %.4g", (double)p->lambda_b,
               (double)p->lambda_p, (double)p->lambda_q);
    if (p->l1_p > 0 || p->l1_q > 0)
        APPEND(" --l1-p %.4g --l1-q %.4g", (double)p->l1_p, (double)p->l1_q);
    if (p->nonneg)
        APPEND(" --nonneg");
    if (p->deterministic)
        APPEND(" --deterministic");
    APPEND(" --init-sd %.4g", (double)p->init_sd);
    if (p->seed != hogmf_params_default().seed)
        APPEND(" --seed %llu", (unsigned long long)p->seed);
#undef APPEND
    return n;
}
