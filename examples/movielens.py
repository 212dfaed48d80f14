"""MovieLens 100K with the hogmf Python package: read u1.base and u1.test (pandas when it is
installed, else numpy.loadtxt), train with the library's defaults while printing each epoch,
evaluate on the test split, and recommend five unseen films to a user, by title.

    python3 examples/movielens.py [ML100K_FOLDER]   # default: ../shared/data/ml-100k

The folder holds u1.base, u1.test and u.item of https://grouplens.org/datasets/movielens/100k/.
"""
import os
import sys
import time

import numpy as np

import hogmf

HERE = os.path.dirname(os.path.abspath(__file__))
folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "data",
                                                            "ml-100k")

try:
    import pandas as pd
except ImportError:
    pd = None


def read(name):
    """user, item, rating columns of a tab-separated MovieLens file."""
    path = os.path.join(folder, name)
    if pd is not None:
        df = pd.read_csv(path, sep="\t", names=["user", "item", "rating", "ts"])
        return df.user, df.item, df.rating
    a = np.loadtxt(path, dtype=np.int64)
    return a[:, 0], a[:, 1], a[:, 2].astype(np.float32)


def titles():
    """item id -> title, from u.item (Latin-1, '|'-separated); ids when it is missing."""
    path = os.path.join(folder, "u.item")
    out = {}
    if os.path.exists(path):
        with open(path, encoding="latin-1") as f:
            for line in f:
                fields = line.split("|")
                out[int(fields[0])] = fields[1]
    return out


train = read("u1.base")
test = read("u1.test")
print("read %d training and %d test ratings (%s)" % (len(train[0]), len(test[0]),
                                                    "pandas" if pd is not None else "numpy"))


def progress(stats):
    print("  epoch %2d  train_rmse %.4f  valid_rmse %.4f  %.2f Mupd/s"
          % (stats["epoch"], stats["train_rmse"], stats["valid_rmse"],
             stats["updates_per_second"] / 1e6))


t0 = time.time()
mf = hogmf.MF(seed=1, callback=progress).fit(*train, valid=test)
info = mf.info
print("trained k=%d in %.2f s: best epoch %d of %d" % (info["k"], time.time() - t0,
                                                      info["best_epoch"], info["epochs_run"]))
res = mf.evaluate(*test)
print("u1.test: rmse=%.4f mae=%.4f (%d ratings of unknown users or items)"
      % (res["rmse"], res["mae"], res["unknown"]))

user = 1
seen = np.asarray(train[1])[np.asarray(train[0]) == user]
items, scores = mf.recommend(user, n=5, exclude=seen)
names = titles()
print("top 5 for user %d (%d films rated in u1.base):" % (user, len(seen)))
for item, score in zip(items, scores):
    print("  %5.2f  %s" % (score, names.get(int(item), "item %d" % item)))
print("predict(user 1, items 1..3):", mf.predict([1, 1, 1], [1, 2, 3]))
