set terminal pngcairo size 900,560 font ",10" noenhanced
set output "epinions.png"
set title "epinions: validation RMSE against wall seconds from process start"
set logscale x
set grid
set xlabel "wall seconds (log scale)"
set ylabel "validation RMSE"
set key outside below
set yrange [1.01986:1.15561]
plot 'plot/epinions_hogmf.dat' using 1:2 with linespoints lc rgb '#d62728' pt 7 ps 0.6 title 'hogmf defaults', \
     'plot/epinions_libmf_default.dat' using 1:2 with linespoints lc rgb '#ff7f0e' pt 9 ps 0.6 title 'LIBMF defaults (grid best)', \
     1.0776 with lines dt 2 lc rgb '#1f77b4' title 'LIBMF best + 0.001'
