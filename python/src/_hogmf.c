/*
 * _hogmf.c - the CPython extension behind the hogmf package: NumPy arrays (any integer ids,
 * or strings) into a ratings set without text (hogmf_builder), training with the GIL
 * released and the epoch callback checking for Ctrl-C, and the model's arrays back as
 * NumPy arrays. The Python layer (hogmf/__init__.py) holds the keyword API; nothing here
 * decides a default: they come from hogmf_params_default().
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hogmf.h"

static PyObject *HogmfError; /* hogmf.HogmfError; .status holds the library's status name */

/* Raises the library's error: MemoryError when out of memory, else hogmf.HogmfError with
 * the library's message (its status in .status, e.g. "HOGMF_ERR_DIVERGED"). */
static PyObject *raise_err(const hogmf_error *err)
{
    static const char *const names[] = {"HOGMF_OK", "HOGMF_ERR_IO", "HOGMF_ERR_PARSE",
                                        "HOGMF_ERR_NOMEM", "HOGMF_ERR_INVALID",
                                        "HOGMF_ERR_FORMAT", "HOGMF_ERR_DIVERGED",
                                        "HOGMF_ERR_EMPTY", "HOGMF_ERR_STOPPED"};
    const char *msg = err->msg[0] ? err->msg : hogmf_strerror(err->status);
    if (err->status == HOGMF_ERR_NOMEM) {
        PyErr_SetString(PyExc_MemoryError, msg);
        return NULL;
    }
    PyObject *exc = PyObject_CallFunction(HogmfError, "s", msg);
    if (!exc)
        return NULL;
    PyObject *status = PyUnicode_FromString((unsigned)err->status < 9 ? names[err->status] : "?");
    if (status)
        PyObject_SetAttrString(exc, "status", status);
    Py_XDECREF(status);
    PyErr_SetObject(HogmfError, exc);
    Py_DECREF(exc);
    return NULL;
}

/* ---------------------------------------------------------------- the model object */

typedef struct {
    PyObject_HEAD
    hogmf_model *model;
} ModelObject;

static void Model_dealloc(ModelObject *self)
{
    hogmf_model_free(&self->model);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject ModelType;

static PyObject *wrap_model(hogmf_model *model)
{
    ModelObject *obj = PyObject_New(ModelObject, &ModelType);
    if (!obj) {
        hogmf_model_free(&model);
        return NULL;
    }
    obj->model = model;
    return (PyObject *)obj;
}

/* ---------------------------------------------------------------- ids from arrays */

static int is_int_array(PyArrayObject *a)
{
    return PyArray_ISINTEGER(a) || PyArray_ISBOOL(a);
}

/* Element j of a 1-d integer array as an id (0..2^32-2); -1 with an exception set. */
static int int_id(PyArrayObject *a, npy_intp j, const char *what, uint32_t *out)
{
    const char *p = PyArray_BYTES(a) + j * PyArray_STRIDE(a, 0);
    long long v;
    unsigned long long uv;
    int neg = 0;
    switch (PyArray_TYPE(a)) {
    case NPY_BOOL: uv = *(const npy_bool *)p; break;
    case NPY_BYTE: v = *(const npy_byte *)p; neg = v < 0; uv = (unsigned long long)v; break;
    case NPY_UBYTE: uv = *(const npy_ubyte *)p; break;
    case NPY_SHORT: v = *(const npy_short *)p; neg = v < 0; uv = (unsigned long long)v; break;
    case NPY_USHORT: uv = *(const npy_ushort *)p; break;
    case NPY_INT: v = *(const npy_int *)p; neg = v < 0; uv = (unsigned long long)v; break;
    case NPY_UINT: uv = *(const npy_uint *)p; break;
    case NPY_LONG: v = *(const npy_long *)p; neg = v < 0; uv = (unsigned long long)v; break;
    case NPY_ULONG: uv = *(const npy_ulong *)p; break;
    case NPY_LONGLONG: v = *(const npy_longlong *)p; neg = v < 0; uv = (unsigned long long)v; break;
    case NPY_ULONGLONG: uv = *(const npy_ulonglong *)p; break;
    default:
        PyErr_Format(PyExc_TypeError, "%s: expected integer or string ids", what);
        return -1;
    }
    if (neg || uv > 0xFFFFFFFFull) {
        PyErr_Format(PyExc_ValueError, "%s[%zd]: expected an id from 0 to 4294967295, found %s%llu",
                     what, (Py_ssize_t)j, neg ? "-" : "", neg ? (unsigned long long)-v : uv);
        return -1;
    }
    *out = (uint32_t)uv;
    return 0;
}

/* Element j of any 1-d id array as a name: strings as UTF-8, integers in decimal (an
 * integer column beside a string one), other objects by str(). */
static int name_id(PyArrayObject *a, npy_intp j, const char *what, hogmf_names *t, int add,
                   uint32_t *out)
{
    char num[32];
    const char *s = NULL;
    Py_ssize_t len = 0;
    PyObject *tmp = NULL, *item = NULL;
    if (is_int_array(a)) {
        uint32_t v;
        if (int_id(a, j, what, &v) < 0)
            return -1;
        len = snprintf(num, sizeof num, "%u", v);
        s = num;
    } else {
        item = PyArray_GETITEM(a, PyArray_GETPTR1(a, j));
        if (!item)
            return -1;
        if (PyBytes_Check(item)) {
            s = PyBytes_AS_STRING(item);
            len = PyBytes_GET_SIZE(item);
        } else {
            tmp = PyUnicode_Check(item) ? (Py_INCREF(item), item) : PyObject_Str(item);
            if (!tmp || !(s = PyUnicode_AsUTF8AndSize(tmp, &len))) {
                Py_XDECREF(tmp);
                Py_DECREF(item);
                return -1;
            }
        }
    }
    int rc = 0;
    if (add) {
        hogmf_error err = {0};
        if (hogmf_names_add(t, s, (size_t)len, out, &err) != HOGMF_OK) {
            PyErr_Format(PyExc_ValueError, "%s[%zd]: %s", what, (Py_ssize_t)j, err.msg);
            rc = -1;
        }
    } else {
        *out = hogmf_names_find(t, s, (size_t)len);
    }
    Py_XDECREF(tmp);
    Py_XDECREF(item);
    return rc;
}

static PyArrayObject *as_1d(PyObject *obj, const char *what)
{
    PyArrayObject *a = (PyArrayObject *)PyArray_FROM_OF(obj, NPY_ARRAY_ALIGNED);
    if (!a)
        return NULL;
    if (PyArray_NDIM(a) != 1) {
        PyErr_Format(PyExc_ValueError, "%s: expected a 1-d array, found %d dimensions", what,
                     PyArray_NDIM(a));
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

static int rating_at(PyArrayObject *a, npy_intp j, float *out)
{
    const char *p = PyArray_BYTES(a) + j * PyArray_STRIDE(a, 0);
    switch (PyArray_TYPE(a)) {
    case NPY_FLOAT: *out = *(const float *)p; return 0;
    case NPY_DOUBLE: *out = (float)*(const double *)p; return 0;
    default: {
        PyObject *item = PyArray_GETITEM(a, (void *)p);
        if (!item)
            return -1;
        double v = PyFloat_AsDouble(item);
        Py_DECREF(item);
        if (v == -1.0 && PyErr_Occurred())
            return -1;
        *out = (float)v;
        return 0;
    }
    }
}

/* A ratings set from three arrays. With names (string ids) ids are coded in them. */
static int build_set(PyObject *uo, PyObject *io, PyObject *ro, hogmf_names *un,
                     hogmf_names *in, hogmf_ratings *out)
{
    PyArrayObject *u = as_1d(uo, "users"), *i = u ? as_1d(io, "items") : NULL,
                  *r = i ? as_1d(ro, "ratings") : NULL;
    hogmf_builder *b = NULL;
    hogmf_error err = {0};
    int rc = -1;
    if (!r)
        goto done;
    npy_intp nnz = PyArray_DIM(u, 0);
    if (PyArray_DIM(i, 0) != nnz || PyArray_DIM(r, 0) != nnz) {
        PyErr_Format(PyExc_ValueError, "users, items and ratings differ in length (%zd, %zd, %zd)",
                     (Py_ssize_t)nnz, (Py_ssize_t)PyArray_DIM(i, 0), (Py_ssize_t)PyArray_DIM(r, 0));
        goto done;
    }
    if (!un && (!is_int_array(u) || !is_int_array(i))) {
        PyErr_SetString(PyExc_TypeError, "ids: expected integer arrays for a model with numeric "
                                         "ids");
        goto done;
    }
    if (hogmf_builder_new((size_t)nnz, un, in, &b, &err) != HOGMF_OK) {
        raise_err(&err);
        goto done;
    }
    for (npy_intp j = 0; j < nnz; j++) {
        uint32_t uid, iid;
        float v;
        if ((un ? name_id(u, j, "users", un, 1, &uid) : int_id(u, j, "users", &uid)) < 0 ||
            (in ? name_id(i, j, "items", in, 1, &iid) : int_id(i, j, "items", &iid)) < 0 ||
            rating_at(r, j, &v) < 0)
            goto done;
        if (hogmf_builder_add(b, uid, iid, v, &err) != HOGMF_OK) {
            raise_err(&err);
            goto done;
        }
    }
    if (hogmf_builder_finish(&b, out, &err) != HOGMF_OK) {
        raise_err(&err);
        goto done;
    }
    rc = 0;
done:
    hogmf_builder_free(&b);
    Py_XDECREF(u);
    Py_XDECREF(i);
    Py_XDECREF(r);
    return rc;
}

/* ---------------------------------------------------------------- parameters */

static const char *const schedule_lr_names[] = {"constant", "decay", "bold", "adagrad"};

/* A float parameter as the shortest decimal that reads back to the same float (0.02, not
 * 0.019999999552965164), so that the dict shows what the CLI's help shows. */
static double f32(float v)
{
    char buf[32];
    for (int digits = 6; digits < 10; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)v);
        if ((float)strtod(buf, NULL) == v)
            return strtod(buf, NULL);
    }
    return (double)v;
}

static PyObject *params_to_dict(const hogmf_params *p)
{
    return Py_BuildValue(
        "{s:I,s:I,s:d,s:d,s:d,s:d,s:d,s:d,s:i,s:K,s:d,s:I,s:d,s:s,s:d,s:d,s:O,s:s,s:s,s:s}",
        "k", p->k, "epochs", p->epochs, "lr", f32(p->lr), "lr_decay", f32(p->lr_decay),
        "reg_bias", f32(p->lambda_b), "reg_p", f32(p->lambda_p), "reg_q",
        f32(p->lambda_q), "init_sd", f32(p->init_sd), "threads", p->threads, "seed",
        (unsigned long long)p->seed, "tol", p->tol, "patience", p->patience, "diverge_factor",
        p->diverge_factor, "schedule_lr",
        (unsigned)p->schedule_lr < 4 ? schedule_lr_names[p->schedule_lr] : "?", "l1_p",
        f32(p->l1_p), "l1_q", f32(p->l1_q), "nonneg", p->nonneg ? Py_True : Py_False,
        "order", p->order == HOGMF_ORDER_BLOCKS ? "blocks" : "shuffle", "schedule",
        p->schedule == HOGMF_SCHEDULE_BLOCKS ? "blocks" : "hogwild", "pin",
        p->pin == HOGMF_PIN_COMPACT ? "compact" : p->pin == HOGMF_PIN_SPREAD ? "spread" : "none");
}

static int get_num(PyObject *d, const char *key, double *out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (!v)
        return 0;
    double x = PyFloat_AsDouble(v);
    if (x == -1.0 && PyErr_Occurred())
        return -1;
    *out = x;
    return 1;
}

static int get_u64(PyObject *d, const char *key, unsigned long long max, unsigned long long *out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (!v)
        return 0;
    if (!PyLong_Check(v)) {
        PyErr_Format(PyExc_TypeError, "%s: expected an integer", key);
        return -1;
    }
    unsigned long long x = PyLong_AsUnsignedLongLong(v);
    if (PyErr_Occurred() || x > max) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: expected an integer from 0 to %llu", key, max);
        return -1;
    }
    *out = x;
    return 1;
}

static int get_choice(PyObject *d, const char *key, const char *const *names, int count, int *out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (!v)
        return 0;
    const char *s = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
    for (int j = 0; s && j < count; j++)
        if (!strcmp(s, names[j])) {
            *out = j;
            return 1;
        }
    PyErr_Format(PyExc_ValueError, "%s: unknown value %R", key, v);
    return -1;
}

/* Parameters from a dict with the keys of params_to_dict (missing keys keep defaults). The
 * library's own checks (hogmf_train) judge the ranges. */
static int dict_to_params(PyObject *d, hogmf_params *p)
{
    static const char *const order_names[] = {"shuffle", "blocks"};
    static const char *const sched_names[] = {"hogwild", "blocks"};
    static const char *const pin_names[] = {"none", "compact", "spread"};
    *p = hogmf_params_default();
    if (!d || d == Py_None)
        return 0;
    if (!PyDict_Check(d)) {
        PyErr_SetString(PyExc_TypeError, "params: expected a dict");
        return -1;
    }
    double x;
    unsigned long long u;
    int c, r;
#define NUM(key, field, type)                                                                  \
    if ((r = get_num(d, key, &x)) < 0)                                                         \
        return -1;                                                                             \
    if (r)                                                                                     \
        p->field = (type)x;
#define INT(key, field, max, type)                                                             \
    if ((r = get_u64(d, key, max, &u)) < 0)                                                    \
        return -1;                                                                             \
    if (r)                                                                                     \
        p->field = (type)u;
    INT("k", k, 65536, uint32_t);
    INT("epochs", epochs, 1000000, uint32_t);
    NUM("lr", lr, float);
    NUM("lr_decay", lr_decay, float);
    NUM("reg_bias", lambda_b, float);
    NUM("reg_p", lambda_p, float);
    NUM("reg_q", lambda_q, float);
    NUM("init_sd", init_sd, float);
    INT("threads", threads, 1024, int);
    INT("seed", seed, UINT64_MAX, uint64_t);
    NUM("tol", tol, double);
    INT("patience", patience, 1000000, uint32_t);
    NUM("diverge_factor", diverge_factor, double);
    NUM("l1_p", l1_p, float);
    NUM("l1_q", l1_q, float);
#undef NUM
#undef INT
    PyObject *nn = PyDict_GetItemString(d, "nonneg");
    if (nn) {
        int t = PyObject_IsTrue(nn);
        if (t < 0)
            return -1;
        p->nonneg = t;
    }
    if ((r = get_choice(d, "schedule_lr", schedule_lr_names, 4, &c)) < 0)
        return -1;
    if (r)
        p->schedule_lr = (hogmf_lr_schedule)c;
    if ((r = get_choice(d, "order", order_names, 2, &c)) < 0)
        return -1;
    if (r)
        p->order = (hogmf_order)c;
    if ((r = get_choice(d, "schedule", sched_names, 2, &c)) < 0)
        return -1;
    if (r)
        p->schedule = (hogmf_schedule)c;
    if ((r = get_choice(d, "pin", pin_names, 3, &c)) < 0)
        return -1;
    if (r)
        p->pin = (hogmf_pin)c;
    return 0;
}

static PyObject *py_params_default(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    hogmf_params p = hogmf_params_default();
    return params_to_dict(&p);
}

/* ---------------------------------------------------------------- training */

typedef struct train_ctx {
    PyObject *callback; /* Python callable or NULL */
    PyObject *history;  /* list of dicts, one per epoch */
    int failed;         /* a Python exception is pending (Ctrl-C or the callback raised) */
} train_ctx;

/* Called by the library between epochs, in the thread that called hogmf_train (the GIL is
 * released there): takes the GIL, records the epoch, checks for a pending signal and runs
 * the Python callback. Non-zero stops training (HOGMF_ERR_STOPPED). */
static int on_epoch(void *vctx, const hogmf_epoch_stats *s)
{
    train_ctx *ctx = vctx;
    PyGILState_STATE g = PyGILState_Ensure();
    int stop = 0;
    PyObject *rec = Py_BuildValue("{s:I,s:d,s:d,s:d,s:d,s:d,s:d,s:d}", "epoch", s->epoch,
                                  "train_rmse", s->train_rmse, "train_mae", s->train_mae,
                                  "valid_rmse", s->valid_rmse, "valid_mae", s->valid_mae,
                                  "epoch_seconds", s->epoch_seconds, "updates_per_second",
                                  s->updates_per_second, "lr", (double)s->lr);
    if (!rec || PyList_Append(ctx->history, rec) < 0 || PyErr_CheckSignals() < 0) {
        ctx->failed = stop = 1;
    } else if (ctx->callback) {
        PyObject *res = PyObject_CallOneArg(ctx->callback, rec);
        if (!res) {
            ctx->failed = stop = 1;
        } else {
            int t = PyObject_IsTrue(res);
            stop = t != 0; /* True stops, as does an error in bool() */
            ctx->failed = t < 0;
            Py_DECREF(res);
        }
    }
    Py_XDECREF(rec);
    PyGILState_Release(g);
    return stop;
}

static void on_log(void *vctx, int level, const char *msg)
{
    (void)vctx;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *exc_type, *exc_value, *tb;
    PyErr_Fetch(&exc_type, &exc_value, &tb);
    if (level > 0)
        PyErr_WarnEx(PyExc_RuntimeWarning, msg, 1);
    PyErr_Restore(exc_type, exc_value, tb);
    PyGILState_Release(g);
}

/* train(users, items, ratings, valid_users, valid_items, valid_ratings, params, callback,
 *       string_ids, holdout) -> (Model, history, stopped). Without validation ratings and with
 *       holdout > 0, a seeded fraction of the ratings is held out for early stopping, split
 *       as `hogmf train --holdout` splits (the same model file for the same seed). */
static PyObject *py_train(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *uo, *io, *ro, *vu, *vi, *vr, *pd, *cb;
    int strids;
    double holdout = 0;
    if (!PyArg_ParseTuple(args, "OOOOOOOOp|d", &uo, &io, &ro, &vu, &vi, &vr, &pd, &cb, &strids,
                          &holdout))
        return NULL;
    hogmf_params p;
    if (dict_to_params(pd, &p) < 0)
        return NULL;
    hogmf_names *un = NULL, *in = NULL;
    hogmf_ratings train = {0}, valid = {0};
    hogmf_model *model = NULL;
    hogmf_error err = {0};
    train_ctx ctx = {cb == Py_None ? NULL : cb, PyList_New(0), 0};
    PyObject *result = NULL;
    if (!ctx.history)
        return NULL;
    if (strids && (!(un = hogmf_names_new()) || !(in = hogmf_names_new()))) {
        PyErr_NoMemory();
        goto done;
    }
    if (build_set(uo, io, ro, un, in, &train) < 0)
        goto done;
    if (vu != Py_None && build_set(vu, vi, vr, un, in, &valid) < 0)
        goto done;
    int have_valid = vu != Py_None;
    if (!have_valid && holdout > 0) {
        hogmf_ratings all = train;
        memset(&train, 0, sizeof train);
        hogmf_status sst = hogmf_ratings_split(&all, holdout, p.seed, &train, &valid, &err);
        hogmf_ratings_free(&all);
        if (sst != HOGMF_OK) {
            raise_err(&err);
            goto done;
        }
        have_valid = 1;
    }
    p.on_epoch = on_epoch;
    p.log = on_log;
    p.ctx = &ctx;
    hogmf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = hogmf_train(&train, have_valid ? &valid : NULL, &p, &model, &err);
    Py_END_ALLOW_THREADS
    if (st == HOGMF_ERR_STOPPED && ctx.failed) { /* Ctrl-C or the callback raised */
        hogmf_model_free(&model);
        goto done;
    }
    if (st != HOGMF_OK && st != HOGMF_ERR_STOPPED) {
        if (ctx.failed) /* an exception from the callback's side comes first */
            goto done;
        raise_err(&err);
        goto done;
    }
    hogmf_ratings_free(&train); /* before wrapping: the trainer's copy is the only one left */
    PyObject *m = wrap_model(model);
    model = NULL;
    if (m)
        result = Py_BuildValue("(NOO)", m, ctx.history, st == HOGMF_ERR_STOPPED ? Py_True : Py_False);
done:
    hogmf_model_free(&model);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
    hogmf_names_free(&un);
    hogmf_names_free(&in);
    Py_DECREF(ctx.history);
    return result;
}

/* train_dense(x float32 C-contiguous m x n, mask uint8 m x n, params, callback)
 *   -> (Model, history, stopped): the path of `hogmf impute` (hogmf_ratings_from_dense). */
static PyObject *py_train_dense(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *xo, *mo, *pd, *cb;
    if (!PyArg_ParseTuple(args, "OOOO", &xo, &mo, &pd, &cb))
        return NULL;
    hogmf_params p;
    if (dict_to_params(pd, &p) < 0)
        return NULL;
    PyArrayObject *x = (PyArrayObject *)PyArray_FROM_OTF(xo, NPY_FLOAT, NPY_ARRAY_IN_ARRAY);
    PyArrayObject *mk = x ? (PyArrayObject *)PyArray_FROM_OTF(mo, NPY_UINT8, NPY_ARRAY_IN_ARRAY)
                          : NULL;
    hogmf_ratings known = {0};
    hogmf_model *model = NULL;
    hogmf_error err = {0};
    train_ctx ctx = {cb == Py_None ? NULL : cb, PyList_New(0), 0};
    PyObject *result = NULL;
    if (!mk || !ctx.history)
        goto done;
    if (PyArray_NDIM(x) != 2 || PyArray_NDIM(mk) != 2 ||
        PyArray_DIM(x, 0) != PyArray_DIM(mk, 0) || PyArray_DIM(x, 1) != PyArray_DIM(mk, 1) ||
        PyArray_DIM(x, 0) < 1 || PyArray_DIM(x, 1) < 1 || PyArray_DIM(x, 0) >= UINT32_MAX ||
        PyArray_DIM(x, 1) >= UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "matrix and mask: expected two 2-d arrays of one "
                                          "non-empty shape");
        goto done;
    }
    if (hogmf_ratings_from_dense(PyArray_DATA(x), PyArray_DATA(mk), (uint32_t)PyArray_DIM(x, 0),
                                 (uint32_t)PyArray_DIM(x, 1), &known, &err) != HOGMF_OK) {
        raise_err(&err);
        goto done;
    }
    p.on_epoch = on_epoch;
    p.log = on_log;
    p.ctx = &ctx;
    hogmf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = hogmf_train(&known, NULL, &p, &model, &err);
    Py_END_ALLOW_THREADS
    if (st != HOGMF_OK && !(st == HOGMF_ERR_STOPPED && !ctx.failed)) {
        hogmf_model_free(&model);
        if (!ctx.failed)
            raise_err(&err);
        goto done;
    }
    PyObject *m = wrap_model(model);
    model = NULL;
    if (m)
        result = Py_BuildValue("(NOO)", m, ctx.history, st == HOGMF_ERR_STOPPED ? Py_True : Py_False);
done:
    hogmf_ratings_free(&known);
    Py_XDECREF(x);
    Py_XDECREF(mk);
    Py_XDECREF(ctx.history);
    return result;
}

static PyObject *py_impute_params_default(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    hogmf_params p = hogmf_impute_params_default();
    return params_to_dict(&p);
}

/* choose_k(x float32 m x n, mask uint8 m x n, params) -> (k, [(k, rmse), ...]): the
 * library's choice of k for a dense matrix (hogmf_impute_choose_k), as `hogmf impute`. */
static PyObject *py_choose_k(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *xo, *mo, *pd;
    if (!PyArg_ParseTuple(args, "OOO", &xo, &mo, &pd))
        return NULL;
    hogmf_params p;
    if (dict_to_params(pd, &p) < 0)
        return NULL;
    PyArrayObject *x = (PyArrayObject *)PyArray_FROM_OTF(xo, NPY_FLOAT, NPY_ARRAY_IN_ARRAY);
    PyArrayObject *mk = x ? (PyArrayObject *)PyArray_FROM_OTF(mo, NPY_UINT8, NPY_ARRAY_IN_ARRAY)
                          : NULL;
    hogmf_ratings known = {0};
    hogmf_error err = {0};
    PyObject *result = NULL;
    if (!mk)
        goto done;
    if (PyArray_NDIM(x) != 2 || PyArray_NDIM(mk) != 2 || PyArray_DIM(x, 0) != PyArray_DIM(mk, 0) ||
        PyArray_DIM(x, 1) != PyArray_DIM(mk, 1) || PyArray_DIM(x, 0) >= UINT32_MAX ||
        PyArray_DIM(x, 1) >= UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "matrix and mask: expected two 2-d arrays of one shape");
        goto done;
    }
    uint32_t m = (uint32_t)PyArray_DIM(x, 0), n = (uint32_t)PyArray_DIM(x, 1), k, folds;
    double rmse[HOGMF_IMPUTE_KS];
    if (hogmf_ratings_from_dense(PyArray_DATA(x), PyArray_DATA(mk), m, n, &known, &err) !=
        HOGMF_OK) {
        raise_err(&err);
        goto done;
    }
    hogmf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = hogmf_impute_choose_k(&known, m, n, &p, &k, rmse, &folds, &err);
    Py_END_ALLOW_THREADS
    if (st != HOGMF_OK) {
        raise_err(&err);
        goto done;
    }
    PyObject *tried = PyList_New(0);
    for (int j = 0; tried && j < HOGMF_IMPUTE_KS; j++) {
        if (isnan(rmse[j]))
            continue;
        PyObject *pair = Py_BuildValue("(Id)", hogmf_impute_ks[j], rmse[j]);
        if (!pair || PyList_Append(tried, pair) < 0)
            Py_CLEAR(tried);
        Py_XDECREF(pair);
    }
    if (tried)
        result = Py_BuildValue("(IN)", k, tried);
done:
    hogmf_ratings_free(&known);
    Py_XDECREF(x);
    Py_XDECREF(mk);
    return result;
}

static PyObject *py_load(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *po;
    if (!PyArg_ParseTuple(args, "O&", PyUnicode_FSConverter, &po))
        return NULL;
    hogmf_model *model = NULL;
    hogmf_error err = {0};
    hogmf_status st;
    const char *path = PyBytes_AS_STRING(po);
    Py_BEGIN_ALLOW_THREADS
    st = hogmf_model_load(path, &model, &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(po);
    if (st != HOGMF_OK)
        return raise_err(&err);
    return wrap_model(model);
}

/* ---------------------------------------------------------------- model methods */

static PyObject *Model_save(ModelObject *self, PyObject *args)
{
    PyObject *po;
    if (!PyArg_ParseTuple(args, "O&", PyUnicode_FSConverter, &po))
        return NULL;
    hogmf_error err = {0};
    hogmf_status st;
    const char *path = PyBytes_AS_STRING(po);
    Py_BEGIN_ALLOW_THREADS
    st = hogmf_model_save(self->model, path, &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(po);
    if (st != HOGMF_OK)
        return raise_err(&err);
    Py_RETURN_NONE;
}

/* Dense indices of an id array through the model's maps (HOGMF_UNKNOWN when absent). */
static uint32_t *indices(const hogmf_model *model, PyArrayObject *a, int items, npy_intp *count)
{
    npy_intp n = PyArray_DIM(a, 0);
    uint32_t *out = PyMem_Malloc((size_t)(n ? n : 1) * sizeof *out);
    hogmf_names *t = items ? model->item_names : model->user_names;
    const char *what = items ? "items" : "users";
    if (!out) {
        PyErr_NoMemory();
        return NULL;
    }
    for (npy_intp j = 0; j < n; j++) {
        uint32_t id;
        if (t) {
            if (name_id(a, j, what, t, 0, &id) < 0)
                goto fail;
            out[j] = id == HOGMF_UNKNOWN ? HOGMF_UNKNOWN
                     : items            ? hogmf_model_item_index(model, id)
                                        : hogmf_model_user_index(model, id);
        } else if (!is_int_array(a)) {
            PyErr_Format(PyExc_TypeError, "%s: expected integer ids (the model has numeric ids)",
                         what);
            goto fail;
        } else {
            /* an id out of range cannot be in the model */
            if (int_id(a, j, what, &id) < 0) {
                PyErr_Clear();
                out[j] = HOGMF_UNKNOWN;
                continue;
            }
            out[j] = items ? hogmf_model_item_index(model, id) : hogmf_model_user_index(model, id);
        }
    }
    *count = n;
    return out;
fail:
    PyMem_Free(out);
    return NULL;
}

static PyObject *Model_predict(ModelObject *self, PyObject *args)
{
    PyObject *uo, *io;
    if (!PyArg_ParseTuple(args, "OO", &uo, &io))
        return NULL;
    PyArrayObject *u = as_1d(uo, "users"), *i = u ? as_1d(io, "items") : NULL;
    uint32_t *ui = NULL, *ii = NULL;
    PyObject *out = NULL;
    npy_intp n = 0, ni = 0;
    if (!i)
        goto done;
    if (PyArray_DIM(u, 0) != PyArray_DIM(i, 0)) {
        PyErr_SetString(PyExc_ValueError, "users and items differ in length");
        goto done;
    }
    if (!(ui = indices(self->model, u, 0, &n)) || !(ii = indices(self->model, i, 1, &ni)))
        goto done;
    out = PyArray_SimpleNew(1, &n, NPY_FLOAT);
    if (!out)
        goto done;
    float *r = PyArray_DATA((PyArrayObject *)out);
    for (npy_intp j = 0; j < n; j++)
        r[j] = hogmf_model_predict(self->model, ui[j], ii[j]);
done:
    PyMem_Free(ui);
    PyMem_Free(ii);
    Py_XDECREF(u);
    Py_XDECREF(i);
    return out;
}

/* Numeric ids of dense indices as a uint32 array, or names as a list of str. */
static PyObject *ids_of(const hogmf_model *model, const uint32_t *idx, npy_intp n, int items)
{
    const hogmf_names *t = items ? model->item_names : model->user_names;
    const uint32_t *ids = items ? model->item_ids : model->user_ids;
    if (t) {
        PyObject *a = PyArray_SimpleNew(1, &n, NPY_OBJECT);
        if (!a)
            return NULL;
        for (npy_intp j = 0; j < n; j++) {
            size_t len;
            const char *s = hogmf_names_get(t, ids[idx ? idx[j] : (uint32_t)j], &len);
            PyObject *str = PyUnicode_DecodeUTF8(s, (Py_ssize_t)len, "surrogateescape");
            if (!str) {
                Py_DECREF(a);
                return NULL;
            }
            PyArray_SETITEM((PyArrayObject *)a, PyArray_GETPTR1((PyArrayObject *)a, j), str);
            Py_DECREF(str);
        }
        return a;
    }
    PyObject *a = PyArray_SimpleNew(1, &n, NPY_UINT32);
    if (!a)
        return NULL;
    uint32_t *d = PyArray_DATA((PyArrayObject *)a);
    for (npy_intp j = 0; j < n; j++)
        d[j] = ids[idx ? idx[j] : (uint32_t)j];
    return a;
}

/* recommend(user, n, exclude_items, threads) -> (item ids, predictions) */
static PyObject *Model_recommend(ModelObject *self, PyObject *args)
{
    PyObject *user, *exo;
    unsigned int N;
    int threads;
    if (!PyArg_ParseTuple(args, "OIOi", &user, &N, &exo, &threads))
        return NULL;
    const hogmf_model *model = self->model;
    PyArrayObject *ua = as_1d(user, "user"); /* a 1-element array of the user's id */
    PyObject *result = NULL;
    uint32_t *uidx = NULL, *ex = NULL;
    hogmf_seen seen = {0};
    npy_intp one = 0, nex = 0;
    if (!ua)
        return NULL;
    if (PyArray_DIM(ua, 0) != 1) {
        PyErr_SetString(PyExc_ValueError, "user: expected one id");
        goto done;
    }
    if (!(uidx = indices(model, ua, 0, &one)))
        goto done;
    if (uidx[0] == HOGMF_UNKNOWN) {
        PyObject *id = PyArray_GETITEM(ua, PyArray_GETPTR1(ua, 0));
        PyErr_Format(PyExc_KeyError, "user %R is not in the model", id);
        Py_XDECREF(id);
        goto done;
    }
    if (exo != Py_None) {
        PyArrayObject *ea = as_1d(exo, "exclude");
        if (!ea)
            goto done;
        ex = indices(model, ea, 1, &nex);
        Py_DECREF(ea);
        if (!ex)
            goto done;
    }
    /* The seen list of this one user: the excluded items, sorted and distinct. */
    seen.m = model->m;
    seen.ptr = PyMem_Calloc((size_t)model->m + 1, sizeof *seen.ptr);
    seen.items = PyMem_Malloc((size_t)(nex ? nex : 1) * sizeof *seen.items);
    if (!seen.ptr || !seen.items) {
        PyErr_NoMemory();
        goto done;
    }
    size_t w = 0;
    for (npy_intp j = 0; j < nex; j++)
        if (ex[j] != HOGMF_UNKNOWN)
            seen.items[w++] = ex[j];
    for (size_t a = 1; a < w; a++) /* insertion sort: exclusion lists are short */
        for (size_t b = a; b > 0 && seen.items[b - 1] > seen.items[b]; b--) {
            uint32_t t = seen.items[b];
            seen.items[b] = seen.items[b - 1];
            seen.items[b - 1] = t;
        }
    size_t d = 0;
    for (size_t a = 0; a < w; a++)
        if (d == 0 || seen.items[d - 1] != seen.items[a])
            seen.items[d++] = seen.items[a];
    for (uint32_t u = uidx[0] + 1; u <= model->m; u++)
        seen.ptr[u] = d;
    if (N > model->n)
        N = model->n;
    if (N == 0)
        N = 1;
    uint32_t *items = PyMem_Malloc((size_t)N * sizeof *items), count = 0;
    float *scores = PyMem_Malloc((size_t)N * sizeof *scores);
    hogmf_error err = {0};
    if (!items || !scores) {
        PyMem_Free(items);
        PyMem_Free(scores);
        PyErr_NoMemory();
        goto done;
    }
    hogmf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = hogmf_recommend(model, &seen, uidx, 1, N, threads, items, scores, &count, &err);
    Py_END_ALLOW_THREADS
    if (st != HOGMF_OK) {
        raise_err(&err);
    } else {
        npy_intp c = count;
        PyObject *ids = ids_of(model, items, c, 1);
        PyObject *sc = PyArray_SimpleNew(1, &c, NPY_FLOAT);
        if (ids && sc) {
            memcpy(PyArray_DATA((PyArrayObject *)sc), scores, (size_t)c * sizeof(float));
            result = Py_BuildValue("(OO)", ids, sc);
        }
        Py_XDECREF(ids);
        Py_XDECREF(sc);
    }
    PyMem_Free(items);
    PyMem_Free(scores);
done:
    PyMem_Free(seen.ptr);
    PyMem_Free(seen.items);
    PyMem_Free(uidx);
    PyMem_Free(ex);
    Py_DECREF(ua);
    return result;
}

/* evaluate(users, items, ratings, threads) -> (rmse, mae, unknown) */
static PyObject *Model_evaluate(ModelObject *self, PyObject *args)
{
    PyObject *uo, *io, *ro;
    int threads;
    if (!PyArg_ParseTuple(args, "OOOi", &uo, &io, &ro, &threads))
        return NULL;
    hogmf_ratings set = {0};
    /* String ids are coded with the model's tables (new names are added to them, as the
     * CLI's eval does; they are unknown to the model all the same). */
    if (build_set(uo, io, ro, self->model->user_names, self->model->item_names, &set) < 0)
        return NULL;
    double rmse = NAN, mae = NAN;
    size_t unknown = 0;
    hogmf_error err = {0};
    hogmf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = hogmf_evaluate(self->model, &set, threads, &rmse, &mae, &unknown, &err);
    Py_END_ALLOW_THREADS
    hogmf_ratings_free(&set);
    if (st != HOGMF_OK)
        return raise_err(&err);
    return Py_BuildValue("(ddn)", rmse, mae, (Py_ssize_t)unknown);
}

static PyObject *Model_factors(ModelObject *self, PyObject *args)
{
    int items;
    if (!PyArg_ParseTuple(args, "p", &items))
        return NULL;
    npy_intp dims[2] = {items ? self->model->n : self->model->m, self->model->k};
    PyObject *a = PyArray_SimpleNew(2, dims, NPY_FLOAT);
    if (a)
        hogmf_model_copy_factors(self->model, items, PyArray_DATA((PyArrayObject *)a));
    return a;
}

static PyObject *Model_biases(ModelObject *self, PyObject *args)
{
    int items;
    if (!PyArg_ParseTuple(args, "p", &items))
        return NULL;
    npy_intp n = items ? self->model->n : self->model->m;
    PyObject *a = PyArray_SimpleNew(1, &n, NPY_FLOAT);
    if (a)
        memcpy(PyArray_DATA((PyArrayObject *)a), items ? self->model->bi : self->model->bu,
               (size_t)n * sizeof(float));
    return a;
}

static PyObject *Model_ids(ModelObject *self, PyObject *args)
{
    int items;
    if (!PyArg_ParseTuple(args, "p", &items))
        return NULL;
    return ids_of(self->model, NULL, items ? self->model->n : self->model->m, items);
}

static PyObject *Model_info(ModelObject *self, PyObject *args)
{
    (void)args;
    const hogmf_model *m = self->model;
    PyObject *params = params_to_dict(&m->params);
    if (!params)
        return NULL;
    return Py_BuildValue("{s:I,s:I,s:I,s:d,s:d,s:d,s:K,s:I,s:I,s:d,s:d,s:N,s:O}", "m", m->m,
                         "n", m->n, "k", m->k, "mu", (double)m->mu, "rmin", (double)m->rmin,
                         "rmax", (double)m->rmax, "nnz", (unsigned long long)m->nnz,
                         "epochs_run", m->epochs_run, "best_epoch", m->best_epoch,
                         "train_rmse", m->train_rmse, "valid_rmse", m->valid_rmse, "params",
                         params, "string_ids", m->user_names ? Py_True : Py_False);
}

static PyMethodDef Model_methods[] = {
    {"save", (PyCFunction)Model_save, METH_VARARGS, "save(path): the CLI's model file"},
    {"predict", (PyCFunction)Model_predict, METH_VARARGS, "predict(users, items)"},
    {"recommend", (PyCFunction)Model_recommend, METH_VARARGS,
     "recommend(user, n, exclude_items, threads)"},
    {"evaluate", (PyCFunction)Model_evaluate, METH_VARARGS,
     "evaluate(users, items, ratings, threads)"},
    {"factors", (PyCFunction)Model_factors, METH_VARARGS, "factors(items): m x k or n x k"},
    {"biases", (PyCFunction)Model_biases, METH_VARARGS, "biases(items)"},
    {"ids", (PyCFunction)Model_ids, METH_VARARGS, "ids(items): dense index -> id"},
    {"info", (PyCFunction)Model_info, METH_NOARGS, "sizes, mean, range, training summary"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hogmf._hogmf.Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A trained hogmf model (hogmf_model)",
    .tp_methods = Model_methods,
};

static PyMethodDef module_methods[] = {
    {"params_default", py_params_default, METH_NOARGS, "hogmf_params_default() as a dict"},
    {"train", py_train, METH_VARARGS, "train from id and rating arrays"},
    {"train_dense", py_train_dense, METH_VARARGS, "train on a dense matrix's known cells"},
    {"load", py_load, METH_VARARGS, "load(path): a model file"},
    {"impute_params_default", py_impute_params_default, METH_NOARGS,
     "hogmf_impute_params_default() as a dict"},
    {"choose_k", py_choose_k, METH_VARARGS, "k for a dense matrix by cross-validation"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_hogmf",
                                        "hogmf's C library, for the hogmf package", -1,
                                        module_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__hogmf(void)
{
    import_array();
    if (PyType_Ready(&ModelType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    HogmfError = PyErr_NewException("hogmf.HogmfError", PyExc_RuntimeError, NULL);
    Py_INCREF(&ModelType);
    if (!HogmfError || PyModule_AddObject(m, "HogmfError", HogmfError) < 0 ||
        PyModule_AddObject(m, "Model", (PyObject *)&ModelType) < 0 ||
        PyModule_AddStringConstant(m, "version", HOGMF_VERSION_STRING) < 0 ||
        PyModule_AddObject(m, "DEFAULT_HOLDOUT", PyFloat_FromDouble(HOGMF_DEFAULT_HOLDOUT)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
