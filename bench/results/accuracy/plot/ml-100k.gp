set terminal pngcairo size 900,560 font ",10" noenhanced
set output "ml-100k.png"
set title "ml-100k fold u1: validation RMSE against wall seconds from process start"
set logscale x
set grid
set xlabel "wall seconds (log scale)"
set ylabel "validation RMSE"
set key outside below
set yrange [0.914381:1.0145]
plot 'plot/ml-100k_hogmf.dat' using 1:2 with linespoints lc rgb '#d62728' pt 7 ps 0.6 title 'hogmf defaults', \
     'plot/ml-100k_libmf_default.dat' using 1:2 with linespoints lc rgb '#ff7f0e' pt 9 ps 0.6 title 'LIBMF defaults', \
     'plot/ml-100k_libmf_k100_l2_0.1.dat' using 1:2 with linespoints lc rgb '#7f7f7f' pt 5 ps 0.6 title 'LIBMF grid best: k 100, l2 0.1', \
     0.9201 with lines dt 2 lc rgb '#1f77b4' title 'LIBMF best + 0.001'
