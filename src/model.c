/*
 * model.c - the model in memory: allocation with padded, aligned factor rows, id lookups
 * and clipped prediction. Training is in train.c; the file format in model_io.c.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

hogmf_model *hogmf_model_new(uint32_t m, uint32_t n, uint32_t k)
{
    return hogmf__model_alloc(m, n, k, 1);
}

hogmf_model *hogmf__model_alloc(uint32_t m, uint32_t n, uint32_t k, int zero_factors)
{
    if (m == 0 || n == 0 || k == 0 || k > 65536 || m == UINT32_MAX || n == UINT32_MAX)
        return NULL;
    hogmf_model *model = calloc(1, sizeof *model);
    if (!model)
        return NULL;
    model->m = m;
    model->n = n;
    model->k = k;
    model->stride = hogmf__stride(k);
    model->params = hogmf_params_default();
    model->params.k = k;
    model->valid_rmse = NAN;
    model->train_rmse = NAN;
    void *(*alloc)(size_t, size_t) = zero_factors ? hogmf__aligned_calloc : hogmf__aligned_alloc;
    model->P = alloc((size_t)m * model->stride, sizeof(float));
    model->Q = alloc((size_t)n * model->stride, sizeof(float));
    model->bu = hogmf__aligned_calloc(m, sizeof(float));
    model->bi = hogmf__aligned_calloc(n, sizeof(float));
    model->user_ids = malloc((size_t)m * sizeof(uint32_t));
    model->item_ids = malloc((size_t)n * sizeof(uint32_t));
    if (!model->P || !model->Q || !model->bu || !model->bi || !model->user_ids ||
        !model->item_ids) {
        hogmf_model_free(&model);
        return NULL;
    }
    for (uint32_t u = 0; u < m; u++)
        model->user_ids[u] = u;
    for (uint32_t i = 0; i < n; i++)
        model->item_ids[i] = i;
    model->umap = hogmf__idmap_from_ids(model->user_ids, m);
    model->imap = hogmf__idmap_from_ids(model->item_ids, n);
    if (!model->umap || !model->imap)
        hogmf_model_free(&model);
    return model;
}

void hogmf_model_free(hogmf_model **model)
{
    if (!model || !*model)
        return;
    hogmf_model *x = *model;
    free(x->P);
    free(x->Q);
    free(x->bu);
    free(x->bi);
    free(x->user_ids);
    free(x->item_ids);
    hogmf__idmap_free(x->umap);
    hogmf__idmap_free(x->imap);
    hogmf_names_free(&x->user_names);
    hogmf_names_free(&x->item_names);
    free(x);
    *model = NULL;
}

uint32_t hogmf_model_user_index(const hogmf_model *model, uint32_t user_id)
{
    return hogmf__idmap_get(model->umap, user_id);
}

uint32_t hogmf_model_item_index(const hogmf_model *model, uint32_t item_id)
{
    return hogmf__idmap_get(model->imap, item_id);
}

float hogmf_model_predict(const hogmf_model *model, uint32_t u, uint32_t i)
{
    int ku = u < model->m, ki = i < model->n;
    float r = model->mu;
    if (ku)
        r += model->bu[u];
    if (ki)
        r += model->bi[i];
    if (ku && ki)
        r += hogmf__dot(model->P + (size_t)u * model->stride, model->Q + (size_t)i * model->stride,
                        model->stride);
    if (!(r >= model->rmin)) /* also maps NaN to the bottom of the range */
        r = model->rmin;
    if (r > model->rmax)
        r = model->rmax;
    return r;
}
