# bias_only_rmse.awk - the RMSE on a test file of the bias-only model fitted to a training
# file, computed here independently of hogmf: the yardstick a factor model must beat.
#   awk -F, -f tests/bias_only_rmse.awk TRAIN TEST      (-F'\t' for tab-separated files)
# The model is the usual baseline (Koren 2010): mu the mean training rating, item biases
# b_i = sum(r - mu) / (n_i + 10), then user biases b_u = sum(r - mu - b_i) / (n_u + 5),
# each estimated once with shrinkage; predictions clipped to the training range. Lines whose
# third field is not a number (headers) are skipped. Prints the RMSE.
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
    for (j = 1; j <= n; j++) { si[i[j]] += r[j] - mu; ni[i[j]]++ }
    for (it in si) bi[it] = si[it] / (ni[it] + 10)
    for (j = 1; j <= n; j++) { su[u[j]] += r[j] - mu - bi[i[j]]; nu[u[j]]++ }
    for (us in su) bu[us] = su[us] / (nu[us] + 5)
}
numeric($3) {
    p = mu + ($1 in bu ? bu[$1] : 0) + ($2 in bi ? bi[$2] : 0)
    p = p < lo ? lo : p > hi ? hi : p
    e = $3 - p; se += e * e; m++
}
END { printf "%.6f\n", sqrt(se / m) }
