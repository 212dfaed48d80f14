"""hogmf from Python: biased matrix factorization trained with Hogwild SGD by the hogmf C library.

    import hogmf
    model = hogmf.MF(k=32, epochs=20).fit(users, items, ratings)
    model.predict(users, items)           # a NumPy array
    model.recommend(user, n=10, exclude=items_seen)

Ids may be any integers (0 .. 2**32 - 1) or strings (NumPy or pandas columns of str or
object); string ids are kept in the model and its file, as `hogmf train --ids string` does.
Keyword names follow the CLI's long options (`--reg-bias` is `reg_bias`); every default comes
from the C library's hogmf_params_default() when MF is created, so the CLI and Python agree.
Training releases the GIL and runs on the library's threads; Ctrl-C stops it after the
current epoch with KeyboardInterrupt. Errors of the library raise HogmfError with its message.
"""
import numpy as np

from . import _hogmf
from ._hogmf import HogmfError

__all__ = ["MF", "HogmfError", "impute", "load", "defaults", "__version__"]
__version__ = _hogmf.version

def defaults():
    """The library's default training parameters (hogmf_params_default()) as a dict."""
    return _hogmf.params_default()


def _column(x):
    """A NumPy view of an array, a pandas Series or a list (no copy for arrays and numeric
    Series)."""
    if hasattr(x, "to_numpy"):
        x = x.to_numpy()
    return np.asarray(x)


def _is_string(a):
    return a.dtype.kind in "USO"


def _check_ids(name, a):
    if a.dtype.kind not in "iubUSO":
        raise TypeError("%s: expected integer or string ids, found %s" % (name, a.dtype))


class MF:
    """Biased matrix factorization, r_hat = mu + b_u + b_i + p_u . q_i, clipped to the
    training range.

    Parameters are the CLI's training options; None means the library's default:
    k, epochs, lr, schedule_lr ("constant", "decay", "bold", "adagrad"), lr_decay, reg (the
    three below at once), reg_bias, reg_p, reg_q, l1 (both below), l1_p, l1_q, nonneg,
    init_sd, threads (0: all cores), seed, tol, patience, order ("blocks", "shuffle"),
    schedule ("hogwild", "blocks"), pin ("none", "compact", "spread"), diverge_factor.
    holdout: without `valid`, the fraction of the ratings held out (seeded) for early
    stopping, as `hogmf train --holdout` [0.05 when patience > 0; 0 trains on all of them for
    every epoch].
    callback: called after every epoch with a dict (epoch, train_rmse, valid_rmse, ...);
    returning True stops training (the model so far is kept).
    """

    def __init__(self, k=None, epochs=None, lr=None, reg=None, reg_bias=None, reg_p=None,
                 reg_q=None, threads=None, seed=None, schedule_lr=None, lr_decay=None,
                 init_sd=None, patience=None, tol=None, l1=None, l1_p=None, l1_q=None,
                 nonneg=None, order=None, schedule=None, pin=None, diverge_factor=None,
                 holdout=None, callback=None):
        p = _hogmf.params_default()
        given = dict(k=k, epochs=epochs, lr=lr, reg_bias=reg_bias, reg_p=reg_p, reg_q=reg_q,
                     threads=threads, seed=seed, schedule_lr=schedule_lr, lr_decay=lr_decay,
                     init_sd=init_sd, patience=patience, tol=tol, l1_p=l1_p, l1_q=l1_q,
                     nonneg=nonneg, order=order, schedule=schedule, pin=pin,
                     diverge_factor=diverge_factor)
        # As the CLI: --reg sets all three, --reg-bias/-p/-q then override one each.
        if reg is not None:
            p["reg_bias"] = p["reg_p"] = p["reg_q"] = float(reg)
        if l1 is not None:
            p["l1_p"] = p["l1_q"] = float(l1)
        for key, value in given.items():
            if value is not None:
                p[key] = value
        # --lr-decay alone selects the decay schedule (train_opts.c).
        if lr_decay is not None and schedule_lr is None and lr_decay > 0:
            p["schedule_lr"] = "decay"
        self.params = p
        # As the CLI (HOGMF_DEFAULT_HOLDOUT): early stopping needs validation ratings.
        self.holdout = float(holdout) if holdout is not None else \
            (_hogmf.DEFAULT_HOLDOUT if p["patience"] > 0 else 0.0)
        self.callback = callback
        self._model = None
        self.history = []
        self.stopped = False

    def __repr__(self):
        shown = ", ".join("%s=%r" % (k, self.params[k]) for k in ("k", "epochs", "lr"))
        return "MF(%s)%s" % (shown, "" if self._model is None else " (fitted)")

    # ------------------------------------------------------------------ training

    def fit(self, users, items, ratings, valid=None):
        """Trains on the ratings (three columns of one length; repeated (user, item) pairs
        keep the last rating, as the CLI's reader). valid: (users, items, ratings) evaluated
        after every epoch (early stopping with patience). Returns self."""
        u, i, r = _column(users), _column(items), _column(ratings)
        _check_ids("users", u)
        _check_ids("items", i)
        strids = _is_string(u) or _is_string(i)
        vu = vi = vr = None
        if valid is not None:
            vu, vi, vr = (_column(c) for c in valid)
            _check_ids("valid users", vu)
            _check_ids("valid items", vi)
            strids = strids or _is_string(vu) or _is_string(vi)
        model, history, stopped = _hogmf.train(u, i, r, vu, vi, vr, self.params,
                                               self.callback, strids, self.holdout)
        self._model, self.history, self.stopped = model, history, stopped
        return self

    def fit_matrix(self, matrix, mask=None):
        """Trains on the known cells of a dense matrix (rows are users 0..m-1, columns items
        0..n-1), the path of `hogmf impute`: a cell is known where mask is True, or, without
        a mask, where it is not NaN. Returns self."""
        x = np.ascontiguousarray(matrix, dtype=np.float32)
        if x.ndim != 2:
            raise ValueError("matrix: expected a 2-d array")
        known = ~np.isnan(x) if mask is None else np.asarray(mask, dtype=bool)
        if known.shape != x.shape:
            raise ValueError("mask: expected the matrix's shape %r, found %r"
                             % (x.shape, known.shape))
        model, history, stopped = _hogmf.train_dense(x, known.astype(np.uint8), self.params,
                                                     self.callback)
        self._model, self.history, self.stopped = model, history, stopped
        return self

    # ------------------------------------------------------------------ using the model

    @property
    def model(self):
        if self._model is None:
            raise HogmfError("the model is not trained: call fit, fit_matrix or hogmf.load")
        return self._model

    def predict(self, users, items):
        """Predictions (float32 NumPy array) for pairs of ids; an unknown user or item gets
        the mean plus whatever bias is known."""
        return self.model.predict(_column(users), _column(items))

    def recommend(self, user, n=10, exclude=None, threads=None):
        """The n items with the highest prediction for one user, best first, leaving out the
        ids in exclude (e.g. the items the user rated). Returns (items, predictions)."""
        ex = None if exclude is None else _column(exclude)
        t = self.params["threads"] if threads is None else threads
        return self.model.recommend(np.asarray([user]), int(n), ex, int(t))

    def evaluate(self, users, items, ratings, threads=None):
        """RMSE and MAE on the given ratings, and how many had an unknown user or item:
        {"rmse": .., "mae": .., "unknown": ..}."""
        t = self.params["threads"] if threads is None else threads
        rmse, mae, unknown = self.model.evaluate(_column(users), _column(items),
                                                 _column(ratings), int(t))
        return {"rmse": rmse, "mae": mae, "unknown": unknown}

    def save(self, path):
        """Writes the model file (the CLI's format, atomically)."""
        self.model.save(path)

    @classmethod
    def load(cls, path):
        """An MF holding the model of a file written by `hogmf train` or save()."""
        model = _hogmf.load(path)
        info = model.info()
        obj = cls()
        obj.params = dict(info["params"])
        obj._model = model
        return obj

    # ------------------------------------------------------------------ the model's arrays

    @property
    def user_factors(self):
        """P, users x k float32 (rows in the order of user_ids)."""
        return self.model.factors(False)

    @property
    def item_factors(self):
        """Q, items x k float32 (rows in the order of item_ids)."""
        return self.model.factors(True)

    @property
    def user_biases(self):
        return self.model.biases(False)

    @property
    def item_biases(self):
        return self.model.biases(True)

    @property
    def user_ids(self):
        """Row u of user_factors belongs to user_ids[u] (uint32, or str for string ids)."""
        return self.model.ids(False)

    @property
    def item_ids(self):
        return self.model.ids(True)

    @property
    def global_mean(self):
        return self.model.info()["mu"]

    @property
    def info(self):
        """Sizes, mean, rating range, epochs run, best epoch, RMSEs and parameters."""
        return self.model.info()


def load(path):
    """hogmf.load(path): MF.load."""
    return MF.load(path)


def impute(matrix, missing=np.nan, **params):
    """Fills the missing cells of a dense matrix with predictions of a model trained on the
    known ones, as `hogmf impute` does. missing: NaN (the default), a sentinel value, or a
    boolean mask that is True where a cell is missing. params: MF's keywords, starting from
    the library's defaults for small matrices (hogmf_impute_params_default: 2000 epochs of a
    constant lr 0.05, reg 0.001, one thread); without k, k is chosen among 1, 2, 3, 4, 6, 8,
    12, 16 by 5-fold cross-validation of the known cells (hogmf_impute_choose_k). Returns a
    new float32 array; the MF it used is in impute.last (its k in .params["k"])."""
    x = np.array(matrix, dtype=np.float32)  # a copy: the result
    if x.ndim != 2:
        raise ValueError("matrix: expected a 2-d array")
    if isinstance(missing, np.ndarray) and missing.dtype == bool:
        if missing.shape != x.shape:
            raise ValueError("missing: a mask of shape %r, expected %r" % (missing.shape, x.shape))
        unknown = missing | np.isnan(x)
    elif missing is None or (isinstance(missing, float) and np.isnan(missing)):
        unknown = np.isnan(x)
    else:
        unknown = (x == np.float32(missing)) | np.isnan(x)
    if unknown.all():
        raise HogmfError("impute: no known cell to learn from")
    known = np.where(unknown, np.float32(0), x)
    mf = MF(**params)
    base = _hogmf.impute_params_default()
    for key, value in base.items():  # the impute defaults where the caller gave nothing
        implied = (key.startswith("reg_") and "reg" in params) or \
            (key.startswith("l1_") and "l1" in params) or \
            (key == "schedule_lr" and "lr_decay" in params)
        if key not in params and not implied:
            mf.params[key] = value
    if "k" not in params:
        mf.params["k"], _ = _hogmf.choose_k(known, (~unknown).astype(np.uint8), mf.params)
    mf.fit_matrix(known, mask=~unknown)
    impute.last = mf
    rows, cols = np.nonzero(unknown)
    x[rows, cols] = mf.model.predict(rows.astype(np.uint32), cols.astype(np.uint32))
    return x
