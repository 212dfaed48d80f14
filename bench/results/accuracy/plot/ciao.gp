set terminal pngcairo size 900,560 font ",10" noenhanced
set output "ciao.png"
set title "ciao: validation RMSE against wall seconds from process start"
set logscale x
set grid
set xlabel "wall seconds (log scale)"
set ylabel "validation RMSE"
set key outside below
set yrange [0.937133:1.06295]
plot 'plot/ciao_hogmf.dat' using 1:2 with linespoints lc rgb '#d62728' pt 7 ps 0.6 title 'hogmf defaults', \
     'plot/ciao_libmf_default.dat' using 1:2 with linespoints lc rgb '#ff7f0e' pt 9 ps 0.6 title 'LIBMF defaults (grid best)', \
     1.006 with lines dt 2 lc rgb '#1f77b4' title 'LIBMF best + 0.001'
