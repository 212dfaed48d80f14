#!/bin/sh
# plot.sh - draws the PNG plots of a bench run with gnuplot (pngcairo) from what run.sh wrote
# in OUT: results.json (one run object per line), naive.json and plot/*.dat. It measures
# nothing and can be rerun on its own after editing. Plots whose runs are missing (a part
# left out of BENCH_PARTS) are skipped.
#
#   sh bench/plot.sh [OUT]       OUT defaults to bench/out
#
#   speedup.png          speedup and parallel efficiency vs threads, per k and schedule, ideal
#   rmse_schedules.png   validation RMSE vs cumulative SGD seconds, hogwild, blocks and
#                        deterministic, per k
#   orders.png           --order shuffle vs blocks at 1 thread: RMSE per epoch and per second
#   throughput.png       updates per second: naive, each SIMD kernel, max threads
set -eu

OUT=${1:-bench/out}
PLOT=$OUT/plot
command -v gnuplot >/dev/null 2>&1 || {
    echo "plot: gnuplot not found" >&2
    exit 1
}
[ -s "$OUT/results.json" ] || {
    echo "plot: no $OUT/results.json" >&2
    exit 1
}

# One tab-separated line per run: name k threads schedule order isa kernel pin s/epoch
# updates/s target.
RUNS=$PLOT/runs.txt
awk -v OFS='\t' '
    function get(key,   v, p) {
        p = index($0, "\"" key "\":"); if (p == 0) return ""
        v = substr($0, p + length(key) + 3); sub(/^ *"?/, "", v); sub(/"?[,}].*/, "", v)
        return v
    }
    /"run":/ { print get("run"), get("k"), get("threads"), get("schedule"), get("order"),
               get("isa"), get("kernel"), get("pin"), get("seconds_per_epoch"),
               get("updates_per_second"), get("target_rmse") }' "$OUT/results.json" >"$RUNS"

KS=$(cut -f2 "$RUNS" | sort -n -u | tr '\n' ' ')
TMAX=$(awk -F'\t' '$5 == "blocks" && $6 == "default" && $8 == "none" && $3 > t { t = $3 }
    END { print t + 0 }' "$RUNS")
TITLE=$(awk '/"run":/ { d = $0; sub(/.*"dataset": "/, "", d); sub(/".*/, "", d)
    r = $0; sub(/.*"ratings": /, "", r); sub(/[,}].*/, "", r)
    c = $0; sub(/.*"cpu": "/, "", c); sub(/".*/, "", c)
    printf "%s, %.1fM ratings, %s", d, r / 1e6, c; exit }' "$OUT/results.json")
GP=$PLOT/plots.gp
rm -f "$OUT/speedup.png" "$OUT/rmse_schedules.png" "$OUT/orders.png" "$OUT/throughput.png"
{
    echo 'set terminal pngcairo size 1200,480 font ",10" noenhanced'
    echo 'set grid'
    echo 'set datafile missing "?"'
} >"$GP"

# ---------------------------------------------------------------- speedup and efficiency

SERIES=
for k in $KS; do
    for sched in hogwild blocks deterministic; do
        f=$PLOT/speedup_k${k}_${sched}.dat
        [ -s "$f" ] && SERIES="$SERIES $k:$sched"
    done
done
# Speedups need more than one thread count.
if [ -n "$SERIES" ] && [ "$TMAX" -gt 1 ]; then
    {
        echo "set output '$OUT/speedup.png'"
        echo "set multiplot layout 1,2 title 'Thread scaling: $TITLE'"
        echo "set xlabel 'threads'"
        if [ "$TMAX" -gt 1 ]; then echo "set xrange [1:$TMAX]"; else echo "set xrange [0.5:1.5]"; fi
        echo "set xtics ($(awk '{ print $1 }' "$PLOT"/speedup_*.dat | sort -n -u | paste -sd,))"
        echo "set key below"
        echo "set ylabel 'speedup over the same k and schedule at 1 thread'"
        printf "plot x title 'ideal' lc rgb 'gray40' dt 2 lw 2"
        j=0
        for s in $SERIES; do
            j=$((j + 1))
            k=${s%%:*} sched=${s#*:}
            printf ", '%s' using 1:2 with linespoints lc %d dt %d pt %d lw 2 title 'k=%s %s'" \
                "$PLOT/speedup_k${k}_${sched}.dat" "$j" "$([ "$sched" = hogwild ] && echo 1 || echo 2)" \
                "$j" "$k" "$sched"
        done
        echo
        echo "set ylabel 'parallel efficiency (speedup / threads)'"
        echo "set yrange [0:1.3]"
        printf "plot 1 title 'ideal' lc rgb 'gray40' dt 2 lw 2"
        j=0
        for s in $SERIES; do
            j=$((j + 1))
            k=${s%%:*} sched=${s#*:}
            printf ", '%s' using 1:3 with linespoints lc %d dt %d pt %d lw 2 title 'k=%s %s'" \
                "$PLOT/speedup_k${k}_${sched}.dat" "$j" "$([ "$sched" = hogwild ] && echo 1 || echo 2)" \
                "$j" "$k" "$sched"
        done
        echo
        echo "unset multiplot"
        echo "set yrange [*:*]"
        echo "set xrange [*:*]"
        echo "set xtics autofreq"
    } >>"$GP"
fi

# ---------------------------------------------------------------- RMSE vs seconds per schedule

# shellcheck disable=SC2086 # a list
NK=$(printf '%s\n' $KS | grep -c .)
if [ -n "$SERIES" ]; then
    {
        echo "set output '$OUT/rmse_schedules.png'"
        echo "set terminal pngcairo size $((600 * NK)),520 font ',10' noenhanced"
        echo "set multiplot layout 1,$NK title 'Validation RMSE vs cumulative SGD seconds: hogwild (solid), blocks (dashed), deterministic (dotted); $TITLE'"
        echo "set xlabel 'cumulative SGD seconds'"
        echo "set ylabel 'validation RMSE'"
        echo "set key inside top right"
        echo "set offsets 0, 0, graph 0.3, 0"
        for k in $KS; do
            echo "set title 'k=$k'"
            awk -F'\t' -v k="$k" -v plot="$PLOT" '
                $2 == k && $5 == "blocks" && $6 == "default" && $8 == "none" {
                    n++; tgt = $11
                    s = s sprintf("%s'\''%s/%s.dat'\'' using 2:3 with linespoints lc %d dt %d " \
                                  "pt %d ps 0.6 lw 2 title '\''%s t=%d'\''", n > 1 ? ", " : "",
                                  plot, $1, ti[$3] ? ti[$3] : (ti[$3] = ++nt),
                                  $4 == "hogwild" ? 1 : $4 == "blocks" ? 2 : 3,
                                  $4 == "hogwild" ? 7 : $4 == "blocks" ? 6 : 5, $4, $3)
                }
                END {
                    if (tgt != "" && tgt != "null")
                        s = s sprintf(", %s title '\''target %.4f'\'' lc rgb '\''gray40'\'' dt 3", tgt, tgt)
                    print "plot " s
                }' "$RUNS"
        done
        echo "unset multiplot"
        echo "unset title"
        echo "set offsets 0, 0, 0, 0"
        echo 'set terminal pngcairo size 1200,480 font ",10" noenhanced'
    } >>"$GP"
fi

# ---------------------------------------------------------------- orderings

ORD=$(awk -F'\t' '$3 == 1 && $4 == "hogwild" && $6 == "default" && $8 == "none" &&
    $5 == "shuffle" { print $2; exit }' "$RUNS")
if [ -n "$ORD" ]; then
    OB=$(awk -F'\t' -v k="$ORD" '$2 == k && $3 == 1 && $4 == "hogwild" && $5 == "blocks" &&
        $6 == "default" && $8 == "none" { print $1 "\t" $9 }' "$RUNS")
    OS=$(awk -F'\t' -v k="$ORD" '$2 == k && $3 == 1 && $4 == "hogwild" && $5 == "shuffle" &&
        $6 == "default" && $8 == "none" { print $1 "\t" $9 }' "$RUNS")
    if [ -n "$OB" ]; then
        nb=$(echo "$OB" | cut -f1) sb=$(echo "$OB" | cut -f2)
        ns=$(echo "$OS" | cut -f1) ss=$(echo "$OS" | cut -f2)
        lb=$(awk -v s="$sb" 'BEGIN { printf "--order blocks (tiles), %.3f s/epoch", s }')
        ls=$(awk -v s="$ss" 'BEGIN { printf "--order shuffle (reshuffle each epoch), %.3f s/epoch", s }')
        {
            echo "set output '$OUT/orders.png'"
            echo "set multiplot layout 1,2 title 'Orderings at 1 thread, k=$ORD, hogwild: $TITLE'"
            echo "set key inside top right"
            echo "set offsets 0, 0, graph 0.2, 0"
            echo "set ylabel 'validation RMSE'"
            echo "set xlabel 'epoch'"
            echo "set xtics 1"
            echo "plot '$PLOT/$nb.dat' using 1:3 with linespoints lw 2 pt 7 title '$lb', '$PLOT/$ns.dat' using 1:3 with linespoints lw 2 pt 6 dt 2 title '$ls'"
            echo "set xlabel 'cumulative SGD seconds'"
            echo "set xtics autofreq"
            echo "plot '$PLOT/$nb.dat' using 2:3 with linespoints lw 2 pt 7 title '$lb', '$PLOT/$ns.dat' using 2:3 with linespoints lw 2 pt 6 dt 2 title '$ls'"
            echo "unset multiplot"
            echo "set offsets 0, 0, 0, 0"
        } >>"$GP"
    fi
fi

# ---------------------------------------------------------------- throughput per kernel

# Rows: naive, each kernel at 1 thread (hogwild, order blocks, no pinning), and the default
# kernel at the most threads; one column per k, million updates per second.
TP=$PLOT/throughput.dat
awk -F'\t' -v ks="$KS" -v tmax="$TMAX" -v naivefile="$OUT/naive.json" '
    BEGIN {
        nk = split(ks, K, " ")
        while ((getline line < naivefile) > 0) {
            k = line; sub(/.*"k": */, "", k); sub(/[,}].*/, "", k)
            u = line; sub(/.*"updates_per_second": */, "", u); sub(/[,}].*/, "", u)
            v["naive scalar", k + 0] = u / 1e6
        }
        rows[++nr] = "naive scalar"
    }
    $4 == "hogwild" && $5 == "blocks" && $8 == "none" && ($3 == 1 || $3 == tmax) {
        label = $3 == 1 ? $7 " 1 thread" : $7 " " $3 " threads"
        if (!(label in seen)) {
            seen[label] = 1; rows[++nr] = label
            rank[nr] = ($3 == 1 ? 0 : 10) + ($7 == "portable" ? 1 : $7 == "avx2" ? 2 : 3)
        }
        v[label, $2 + 0] = $10 / 1e6
    }
    END {
        for (a = 2; a <= nr; a++)       # insertion sort of the rows after "naive scalar"
            for (b = a; b > 2 && rank[b] < rank[b - 1]; b--) {
                x = rows[b]; rows[b] = rows[b - 1]; rows[b - 1] = x
                x = rank[b]; rank[b] = rank[b - 1]; rank[b - 1] = x
            }
        for (r = 1; r <= nr; r++) {
            s = "\"" rows[r] "\""
            for (j = 1; j <= nk; j++)
                s = s " " (((rows[r], K[j] + 0) in v) ? sprintf("%.3f", v[rows[r], K[j] + 0]) : "?")
            print s
        }
    }' "$RUNS" >"$TP"
if [ "$(wc -l <"$TP")" -gt 1 ]; then
    {
        echo "set output '$OUT/throughput.png'"
        echo "set title 'Million updates per second (median epoch): naive scalar loop vs hogmf kernels; $TITLE'"
        echo "set style data histogram"
        echo "set style histogram cluster gap 1"
        echo "set style fill solid 0.8 border -1"
        echo "set boxwidth 0.9"
        echo "set ylabel 'million updates per second'"
        echo "set xlabel ''"
        echo "set yrange [0:*]"
        echo "set key inside top left"
        printf "plot "
        j=0
        for k in $KS; do
            j=$((j + 1))
            [ $j -gt 1 ] && printf ", "
            if [ $j -eq 1 ]; then
                printf "'%s' using %d:xtic(1) title 'k=%s'" "$TP" $((j + 1)) "$k"
            else
                printf "'' using %d title 'k=%s'" $((j + 1)) "$k"
            fi
        done
        echo
    } >>"$GP"
fi

gnuplot "$GP"
for f in "$OUT"/*.png; do
    if [ -e "$f" ]; then echo "plot: wrote $f"; fi
done
