#!/bin/sh
# foldin.sh - how well `hogmf foldin` places users the model has never seen. One user in
# ten of MovieLens 100K (ids ending in 3, 95 users) is held out entirely; the model is
# trained on the other users with the default options; N of each held-out user's ratings
# are folded in and the rest of their ratings are predicted. Compared with the bias-only
# baseline (the same ridge fold-in of the user bias, the factors held at zero) and with
# mu + b_i (the user left unknown).
#
#   sh bench/foldin.sh [ML100K_DIR]      (from the repository root, after make)
#   FOLDIN_N=10          ratings folded in per user
#   FOLDIN_ORDER=random  which ones: random (a fixed hash of the item) or time (the first N)
#   REGS="0.5 1 2 4 8"   --reg-p values to try besides the default
#   HOGMF=build/hogmf
#
# Prints one line per method: "method rmse=<x> n=<ratings>"; the last line is the verdict
# (exit status 1 when the default fold-in does not beat the bias-only baseline).
set -eu

HOGMF=${HOGMF:-build/hogmf}
ML=${1:-${ML100K:-../shared/data/ml-100k}}
N=${FOLDIN_N:-10}
ORDER=${FOLDIN_ORDER:-random}
REGS=${REGS:-"0.5 1 2 4 8"}
if [ ! -r "$ML/u.data" ]; then
    echo "foldin.sh: MovieLens 100K not found at $ML (give its folder)" >&2
    exit 2
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/hogmf-foldin.XXXXXX")
trap 'rm -rf "$T"' EXIT

# Held-out users: ids ending in 3. Their ratings in a fixed order; the first N are folded in.
TAB=$(printf '\t')
awk -F'\t' '$1 % 10 != 3' "$ML/u.data" >"$T/train.tsv"
if [ "$ORDER" = time ]; then
    awk -F'\t' '$1 % 10 == 3 { print $4 "\t" $0 }' "$ML/u.data"
else
    awk -F'\t' '$1 % 10 == 3 { printf "%d\t%s\n", ($2 * 2654435761) % 1000003, $0 }' "$ML/u.data"
fi | sort -t"$TAB" -k2,2n -k1,1n | cut -f2- |
    awk -F'\t' -v n="$N" -v fo="$T/foldin.tsv" -v re="$T/rest.tsv" '
        { c[$1]++; print > (c[$1] <= n ? fo : re) }'
echo "ratings folded in: $N per user, order $ORDER"
echo "train: $(wc -l <"$T/train.tsv") ratings; held out: $(cut -f1 "$T/foldin.tsv" | sort -u |
    wc -l) users, $(wc -l <"$T/foldin.tsv") ratings folded in, $(wc -l <"$T/rest.tsv") to predict"

"$HOGMF" train -q -t 1 -o "$T/model" "$T/train.tsv"

# rmse PREDICTIONS: RMSE of "user item prediction" lines against rest.tsv (same order).
rmse() {
    paste "$T/rest.tsv" "$1" | awk -F'[\t ]' '{ e = $3 - $7; s += e * e; n++ }
        END { printf "rmse=%.5f n=%d", sqrt(s / n), n }'
}

"$HOGMF" predict "$T/model" "$T/rest.tsv" >"$T/p_none" 2>/dev/null
# A few items occur only in held-out users' ratings; all methods predict them alike.
echo "mu+b_i (user unknown)          $(rmse "$T/p_none")"
"$HOGMF" foldin -q --reg-p 1e6 -o "$T/f_bias" "$T/model" "$T/foldin.tsv"
"$HOGMF" predict --foldin "$T/f_bias" "$T/model" "$T/rest.tsv" >"$T/p_bias" 2>/dev/null
BIAS=$(rmse "$T/p_bias")
echo "bias-only fold-in (baseline)   $BIAS"
"$HOGMF" foldin -q -o "$T/f" "$T/model" "$T/foldin.tsv"
"$HOGMF" predict --foldin "$T/f" "$T/model" "$T/rest.tsv" >"$T/p" 2>/dev/null
FOLD=$(rmse "$T/p")
echo "fold-in, defaults (2 and 3)    $FOLD"
for r in $REGS; do
    "$HOGMF" foldin -q --reg-p "$r" -o "$T/f_$r" "$T/model" "$T/foldin.tsv"
    "$HOGMF" predict --foldin "$T/f_$r" "$T/model" "$T/rest.tsv" >"$T/p_$r" 2>/dev/null
    echo "fold-in, --reg-p $r$(printf '%*s' $((13 - ${#r})) '')$(rmse "$T/p_$r")"
done
b=${BIAS#rmse=}
f=${FOLD#rmse=}
if awk -v f="${f%% *}" -v b="${b%% *}" 'BEGIN { exit !(f < b) }'; then
    echo "verdict: fold-in beats the bias-only baseline (${f%% *} < ${b%% *})"
else
    echo "verdict: fold-in does NOT beat the bias-only baseline (${f%% *} >= ${b%% *})"
    exit 1
fi
