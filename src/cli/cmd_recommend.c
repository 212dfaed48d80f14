/*
 * cmd_recommend.c - `hogmf recommend`: the N best unrated items for one user, several, or
 * every user of a model (plus fold-in users), scored exactly (hogmf_recommend). The items a
 * user has rated come from --exclude files; the model does not remember its ratings.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help[] =
    "usage: hogmf recommend [options] MODEL --user ID [--user ID ...]\n"
    "       hogmf recommend [options] MODEL --all-users\n"
    "\n"
    "Lists the N items with the highest predicted rating for each user, best first, as\n"
    "\"user item prediction\" lines (users in the order given; with --all-users in the\n"
    "model's order, then the fold-in users). Items the user rated in an --exclude file are\n"
    "left out; pass the training file so that only unrated items are listed. Every item is\n"
    "scored; ties go to the item seen first in training.\n"
    "\n"
    "options:\n"
    "      --user ID          a user id (repeatable; a string id for a model trained on\n"
    "                         string ids)\n"
    "      --all-users        every user\n"
    "  -n, --count N          items per user [10]\n"
    "      --exclude FILE     ratings file whose (user, item) pairs are not recommended\n"
    "                         (repeatable)\n"
    "      --foldin FILE      add the users of a fold-in file (hogmf foldin) to the model\n"
    "  -o, --output OUT       output file, written atomically [stdout]\n"
    "  -t, --threads N        threads [all cores]\n"
    "      --format FMT       format of the --exclude files [auto]\n"
    "      --columns C        USER,ITEM[,RATING[,TIMESTAMP]] of wider --exclude files\n"
    "  -q, --quiet            no timing on stderr\n"
    "  -h, --help             this text\n";

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_load_model_foldin(const char *model_path, const char *foldin_path, hogmf_model **model)
{
    hogmf_error err = {0};
    *model = NULL;
    if (hogmf_model_load(model_path, model, &err) != HOGMF_OK)
        return cli_report(&err, 0);
    if (!foldin_path)
        return EXIT_OK;
    hogmf_foldin f = {0};
    hogmf_model *merged = NULL;
    if (hogmf_foldin_load(foldin_path, &f, &err) != HOGMF_OK ||
        hogmf_model_add_foldin(*model, &f, &merged, &err) != HOGMF_OK) {
        hogmf_foldin_free(&f);
        hogmf_model_free(model);
        if (err.status == HOGMF_ERR_INVALID) { /* the message does not name the file */
            fprintf(stderr, "hogmf: %s: %s\n", foldin_path, err.msg);
            return EXIT_INPUT;
        }
        return cli_report(&err, 0);
    }
    hogmf_foldin_free(&f);
    hogmf_model_free(model);
    *model = merged;
    return EXIT_OK;
}

int cmd_recommend(int argc, char **argv)
{
    enum { O_USER = 256, O_ALL_USERS, O_EXCLUDE, O_FOLDIN, O_FORMAT };
    static const struct option opts[] = {{"user", required_argument, 0, O_USER},
                                         {"all-users", no_argument, 0, O_ALL_USERS},
                                         {"count", required_argument, 0, 'n'},
                                         {"exclude", required_argument, 0, O_EXCLUDE},
                                         {"foldin", required_argument, 0, O_FOLDIN},
                                         {"output", required_argument, 0, 'o'},
                                         {"threads", required_argument, 0, 't'},
                                         {"format", required_argument, 0, O_FORMAT},
                                         CLI_READ_LONGOPTS,
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    uint32_t N = 10, threads = 0, nids = 0;
    uint32_t *ids = malloc((size_t)argc * sizeof *ids);
    const char **id_args = malloc((size_t)argc * sizeof *id_args);
    const char **excl_paths = malloc((size_t)argc * sizeof *excl_paths);
    size_t nexcl = 0;
    const char *foldin_path = NULL, *out_path = NULL;
    int all_users = 0, quiet = 0, c, rc = EXIT_OK;
    hogmf_read_options ro = hogmf_read_options_default();
    hogmf_model *model = NULL;
    hogmf_ratings *sets = NULL;
    hogmf_seen seen = {0};
    uint32_t *users = NULL, *items = NULL, *count = NULL;
    float *ratings = NULL;
    char *text = NULL;
    if (!ids || !id_args || !excl_paths) {
        fprintf(stderr, "hogmf: recommend: out of memory\n");
        rc = EXIT_INTERNAL;
        goto done;
    }
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n:o:t:qh", opts, NULL)) != -1) {
        int r = cli_read_option("recommend", &ro, c, optarg);
        if (r < 0) {
            rc = EXIT_INPUT;
            goto done;
        }
        if (r > 0)
            continue;
        switch (c) {
        case O_USER: id_args[nids++] = optarg; break; /* numbers or names: the model tells */
        case O_ALL_USERS: all_users = 1; break;
        case 'n':
            if (cli_parse_u32("recommend", "--count", optarg, 1, 1000000, &N)) {
                rc = EXIT_INPUT;
                goto done;
            }
            break;
        case O_EXCLUDE: excl_paths[nexcl++] = optarg; break;
        case O_FOLDIN: foldin_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 't':
            if (cli_parse_u32("recommend", "--threads", optarg, 1, 1024, &threads)) {
                rc = EXIT_INPUT;
                goto done;
            }
            break;
        case O_FORMAT:
            if (cli_parse_format("recommend", optarg, &ro.format)) {
                rc = EXIT_INPUT;
                goto done;
            }
            break;
        case 'q': quiet = 1; break;
        case 'h': fputs(help, stdout); goto done;
        case ':': rc = cli_usage_error("recommend", "%s needs a value", argv[optind - 1]); goto done;
        default:
            rc = cli_unknown_option("recommend", argv);
            goto done;
        }
    }
    if (optind + 1 != argc) {
        rc = cli_usage_error("recommend", "expected one MODEL, found %d arguments",
                             argc - optind);
        goto done;
    }
    if (!all_users == !nids) {
        rc = cli_usage_error("recommend", "expected --user ID or --all-users (one of them)");
        goto done;
    }
    {
        const cli_path out[] = {{"-o", out_path}};
        const cli_path in[] = {{"MODEL", argv[optind]}, {"--foldin file", foldin_path}};
        if ((rc = cli_check_paths("recommend", in, 2, out, 1)) != EXIT_OK)
            goto done;
        for (size_t j = 0; j < nexcl; j++) {
            const cli_path ex[] = {{"--exclude file", excl_paths[j]}};
            if ((rc = cli_check_paths("recommend", ex, 1, out, 1)) != EXIT_OK)
                goto done;
        }
    }
    if ((rc = cli_load_model_foldin(argv[optind], foldin_path, &model)) != EXIT_OK)
        goto done;
    hogmf_error err = {0};
    cli_read_for_model(&ro, model);
    for (uint32_t j = 0; j < nids && !model->user_names; j++)
        if (cli_parse_u32("recommend", "--user", id_args[j], 0, UINT32_MAX, &ids[j])) {
            rc = EXIT_INPUT;
            goto done;
        }
    uint32_t nusers = all_users ? model->m : nids;
    users = malloc(((size_t)nusers + 1) * sizeof *users);
    if (!users) {
        fprintf(stderr, "hogmf: recommend: out of memory\n");
        rc = EXIT_INTERNAL;
        goto done;
    }
    for (uint32_t j = 0; j < nusers; j++) {
        users[j] = all_users           ? j
                   : model->user_names ? hogmf_model_user_index_name(model, id_args[j],
                                                                     strlen(id_args[j]))
                                       : hogmf_model_user_index(model, ids[j]);
        if (users[j] == HOGMF_UNKNOWN) {
            fprintf(stderr, "hogmf: recommend: user %s is not in %s%s%s (fold new users in "
                            "with 'hogmf foldin')\n",
                    id_args[j], argv[optind], foldin_path ? " or " : "",
                    foldin_path ? foldin_path : "");
            rc = EXIT_INPUT;
            goto done;
        }
    }
    sets = calloc(nexcl ? nexcl : 1, sizeof *sets);
    const hogmf_ratings **setp = calloc(nexcl ? nexcl : 1, sizeof *setp);
    if (!sets || !setp) {
        free(setp);
        fprintf(stderr, "hogmf: recommend: out of memory\n");
        rc = EXIT_INTERNAL;
        goto done;
    }
    for (size_t e = 0; e < nexcl; e++) {
        if (hogmf_ratings_read(excl_paths[e], &ro, &sets[e], &err) != HOGMF_OK) {
            free(setp);
            rc = cli_report(&err, 0);
            goto done;
        }
        setp[e] = &sets[e];
    }
    hogmf_status st = hogmf_seen_build(model, setp, nexcl, &seen, &err);
    free(setp);
    if (st != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    if (N > model->n)
        N = model->n; /* no user can have more */
    size_t cells = (size_t)nusers * N;
    items = malloc((cells ? cells : 1) * sizeof *items);
    ratings = malloc((cells ? cells : 1) * sizeof *ratings);
    count = malloc(((size_t)nusers + 1) * sizeof *count);
    if (!items || !ratings || !count) {
        fprintf(stderr, "hogmf: recommend: out of memory for %u users x %u items\n", nusers, N);
        rc = EXIT_INTERNAL;
        goto done;
    }
    double t0 = seconds();
    if (hogmf_recommend(model, &seen, users, nusers, N, (int)threads, items, ratings, count,
                        &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    double dt = seconds() - t0;
    size_t lines = 0;
    for (uint32_t j = 0; j < nusers; j++)
        lines += count[j];
    size_t cap = lines * 40 + 1, len = 0;
    for (uint32_t j = 0; model->user_names && j < nusers; j++) /* room for the names */
        for (uint32_t r = 0; r < count[j]; r++)
            cap += strlen(hogmf_model_user_name(model, users[j])) +
                   strlen(hogmf_model_item_name(model, items[(size_t)j * N + r]));
    text = malloc(cap);
    if (!text) {
        fprintf(stderr, "hogmf: recommend: out of memory\n");
        rc = EXIT_INTERNAL;
        goto done;
    }
    for (uint32_t j = 0; j < nusers; j++)
        for (uint32_t r = 0; r < count[j]; r++) {
            size_t at = (size_t)j * N + r;
            char ub[16], ib[16];
            len += (size_t)snprintf(
                text + len, cap - len, "%s %s %.6g\n",
                cli_id(ub, sizeof ub, model->user_names, model->user_ids[users[j]]),
                cli_id(ib, sizeof ib, model->item_names, model->item_ids[items[at]]),
                (double)ratings[at]);
        }
    if (!quiet)
        fprintf(stderr, "hogmf: scored %u items for %u users in %.3f s (%.3g predictions/s)\n",
                model->n, nusers, dt, dt > 0 ? (double)model->n * nusers / dt : 0.0);
    if (out_path) {
        if (hogmf_write_file_atomic(out_path, text, len, &err) != HOGMF_OK)
            rc = cli_report(&err, 1);
    } else if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
        fprintf(stderr, "hogmf: recommend: writing to stdout failed\n");
        rc = EXIT_INTERNAL;
    }
done:
    for (size_t e = 0; sets && e < nexcl; e++)
        hogmf_ratings_free(&sets[e]);
    free(sets);
    hogmf_seen_free(&seen);
    hogmf_model_free(&model);
    free(ids);
    free(id_args);
    free(excl_paths);
    free(users);
    free(items);
    free(ratings);
    free(count);
    free(text);
    return rc;
}
