/*
 * quickstart.c - the smallest program that embeds hogmf: read a ratings file, train a model
 * with a held-out validation part, predict a few ratings, save the model, load it back and
 * check that the loaded model predicts exactly the same. Build it against an installed hogmf:
 *
 *   cc $(pkg-config --cflags hogmf) quickstart.c -o quickstart $(pkg-config --libs hogmf)
 *   ./quickstart ratings.csv model.hogmf
 *
 * It prints what it does on stdout and returns 0, or prints the library's message on
 * stderr and returns 1.
 */
#include <hogmf.h>

#include <stdio.h>

/* Prints the library's compiler-style message and returns the exit status. */
static int fail(const hogmf_error *err)
{
    fprintf(stderr, "quickstart: %s (%s)\n", err->msg, hogmf_strerror(err->status));
    return 1;
}

/* Called after every epoch; returning non-zero would stop training. */
static int on_epoch(void *ctx, const hogmf_epoch_stats *s)
{
    (void)ctx;
    printf("  epoch %2u: train RMSE %.4f, validation RMSE %.4f\n", s->epoch, s->train_rmse,
           s->valid_rmse);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: quickstart RATINGS MODEL_OUT\n");
        return 2;
    }
    printf("hogmf %s\n", HOGMF_VERSION_STRING);
    hogmf_error err = {0};
    hogmf_ratings all = {0}, train = {0}, valid = {0};
    hogmf_model *model = NULL, *loaded = NULL;
    int rc = 1;

    /* 1. Read the ratings (format detected from the first line) and hold out 10%. */
    if (hogmf_ratings_read(argv[1], NULL, &all, &err) != HOGMF_OK)
        return fail(&err);
    printf("read %zu ratings: %u users, %u items\n", all.nnz, all.m, all.n);
    if (hogmf_ratings_split(&all, 0.1, 42, &train, &valid, &err) != HOGMF_OK) {
        rc = fail(&err);
        goto done;
    }

    /* 2. Train: defaults, a few changes, one thread so that the run is reproducible. */
    hogmf_params p = hogmf_params_default();
    p.k = 16;
    p.epochs = 10;
    p.threads = 1;
    p.seed = 7;
    p.on_epoch = on_epoch;
    printf("training k=%u for at most %u epochs\n", p.k, p.epochs);
    if (hogmf_train(&train, &valid, &p, &model, &err) != HOGMF_OK) {
        rc = fail(&err);
        goto done;
    }
    printf("kept epoch %u: validation RMSE %.4f\n", model->best_epoch, model->valid_rmse);

    /* 3. Predict the first few held-out ratings, by original user and item id. */
    printf("%8s %8s %8s %10s\n", "user", "item", "rating", "predicted");
    for (size_t j = 0; j < 5 && j < valid.nnz; j++) {
        uint32_t uid = valid.user_ids[valid.data[j].u], iid = valid.item_ids[valid.data[j].i];
        float r_hat = hogmf_model_predict(model, hogmf_model_user_index(model, uid),
                                          hogmf_model_item_index(model, iid));
        printf("%8u %8u %8.1f %10.4f\n", uid, iid, valid.data[j].r, r_hat);
    }

    /* 4. Save, load back, and compare every held-out prediction bit for bit. */
    if (hogmf_model_save(model, argv[2], &err) != HOGMF_OK ||
        hogmf_model_load(argv[2], &loaded, &err) != HOGMF_OK) {
        rc = fail(&err);
        goto done;
    }
    size_t differ = 0;
    for (size_t j = 0; j < valid.nnz; j++) {
        uint32_t uid = valid.user_ids[valid.data[j].u], iid = valid.item_ids[valid.data[j].i];
        float a = hogmf_model_predict(model, hogmf_model_user_index(model, uid),
                                      hogmf_model_item_index(model, iid));
        float b = hogmf_model_predict(loaded, hogmf_model_user_index(loaded, uid),
                                      hogmf_model_item_index(loaded, iid));
        differ += a != b;
    }
    double rmse;
    if (hogmf_evaluate(loaded, &valid, 1, &rmse, NULL, NULL, &err) != HOGMF_OK) {
        rc = fail(&err);
        goto done;
    }
    printf("saved %s and loaded it back: %zu of %zu predictions differ, RMSE %.4f\n", argv[2],
           differ, valid.nnz, rmse);
    rc = differ == 0 ? 0 : 1;

done:
    hogmf_model_free(&loaded);
    hogmf_model_free(&model);
    hogmf_ratings_free(&all);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
    return rc;
}
