# bias_only_rmse.awk - the RMSE on a test file of the bias-only model fitted to a training
# file, computed here independently of hogmf: the yardstick a factor model must beat.
#   awk -F, -f tests/bias_only_rmse.awk TRAIN TEST      (-F'\t' for tab-separated files)
# The model is r = mu + b_u + b_i with mu the mean training rating and the biases the
# minimiser of the squared error plus 5 (b_u^2 + b_i^2), found by 10 rounds of exact
# alternating updates (b_i = sum(r - mu - b_u) / (n_i + 5), then b_u likewise), which
# converge to 1e-5 in RMSE on generated data; predictions are clipped to the training range,
# unknown users and items get no bias. Lines whose third field is not a number (headers) are
# skipped. Prints the RMSE.
function numeric(s) { return s ~ /^[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/ }
FNR == NR {
    if (!numeric($3)) next
    n++; u[n] = $1; i[n] = $2; r[n] = $3 + 0; sum += r[n]
    if (n == 1 || r[n] < lo) lo = r[n]
    if (n == 1 || r[n] > hi) hi = r[n]
    next
}
FNR == 1 {
    mu = sum / n
    for (j = 1; j <= n; j++) { nu[u[j]]++; ni[i[j]]++ }
    for (round = 0; round < 10; round++) {
        split("", si)
        split("", su)
        for (j = 1; j <= n; j++) si[i[j]] += r[j] - mu - bu[u[j]]
        for (x in si) bi[x] = si[x] / (ni[x] + 5)
        for (j = 1; j <= n; j++) su[u[j]] += r[j] - mu - bi[i[j]]
        for (x in su) bu[x] = su[x] / (nu[x] + 5)
    }
}
numeric($3) {
    p = mu + ($1 in bu ? bu[$1] : 0) + ($2 in bi ? bi[$2] : 0)
    p = p < lo ? lo : p > hi ? hi : p
    e = $3 - p; se += e * e; m++
}
END { printf "%.6f\n", sqrt(se / m) }
