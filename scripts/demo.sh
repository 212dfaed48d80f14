#!/bin/sh
# demo.sh - the first command on a fresh Debian 12 machine: installs what is missing, builds,
# generates synthetic ratings into ./demo/, splits them, trains with validation, evaluates
# and predicts a few ratings. It downloads no data set; see README.md for MovieLens.
set -eu

cd "$(dirname "$0")/.."
HOGMF=build/hogmf
D=demo

sh scripts/install-deps.sh
make -j"$(nproc 2>/dev/null || echo 2)"
mkdir -p "$D"

echo
echo "== generating 200,000 synthetic ratings (2,000 users x 1,000 items)"
"$HOGMF" gen --users 2000 --items 1000 --ratings 200000 --seed 1 -o "$D/ratings.csv"
head -n 3 "$D/ratings.csv"

echo
echo "== splitting 80/20"
"$HOGMF" split --test-fraction 0.2 --seed 1 "$D/ratings.csv" "$D/train.csv" "$D/test.csv"

echo
echo "== training (validation after every epoch, early stopping on it)"
"$HOGMF" train --validate "$D/test.csv" --log "$D/train_log.jsonl" -o "$D/model.hogmf" \
    "$D/train.csv"

echo
echo "== evaluating on the test set"
"$HOGMF" eval "$D/model.hogmf" "$D/test.csv"

echo
echo "== predicting five test ratings and two pairs the model has never seen"
{
    head -n 6 "$D/test.csv"
    echo "999999,1"
    echo "1,999999"
} | cut -d, -f1-3 >"$D/few.csv"
"$HOGMF" predict "$D/model.hogmf" "$D/few.csv" -o "$D/few.pred"
printf '%8s %8s %8s %10s\n' user item actual predicted
tail -n +2 "$D/few.csv" | cut -d, -f3 | paste -d' ' "$D/few.pred" - |
    awk '{ printf "%8s %8s %8s %10.3f\n", $1, $2, ($4 == "" ? "-" : $4), $3 }'

echo
echo "demo: done; files in $D/ (model.hogmf, train_log.jsonl, few.pred)"
