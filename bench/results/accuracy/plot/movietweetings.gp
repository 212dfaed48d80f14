set terminal pngcairo size 900,560 font ",10" noenhanced
set output "movietweetings.png"
set title "movietweetings: validation RMSE against wall seconds from process start"
set logscale x
set grid
set xlabel "wall seconds (log scale)"
set ylabel "validation RMSE"
set key outside below
set yrange [1.51465:1.70977]
plot 'plot/movietweetings_hogmf.dat' using 1:2 with linespoints lc rgb '#d62728' pt 7 ps 0.6 title 'hogmf defaults', \
     'plot/movietweetings_libmf_default.dat' using 1:2 with linespoints lc rgb '#ff7f0e' pt 9 ps 0.6 title 'LIBMF defaults (grid best)', \
     1.6387 with lines dt 2 lc rgb '#1f77b4' title 'LIBMF best + 0.001'
