set terminal pngcairo size 900,560 font ",10" noenhanced
set output "synth-10m.png"
set title "synth-10m: validation RMSE against wall seconds from process start"
set logscale x
set grid
set xlabel "wall seconds (log scale)"
set ylabel "validation RMSE"
set key outside below
set yrange [0.545283:0.858505]
plot 'plot/synth-10m_hogmf.dat' using 1:2 with linespoints lc rgb '#d62728' pt 7 ps 0.6 title 'hogmf defaults', \
     'plot/synth-10m_libmf_default.dat' using 1:2 with linespoints lc rgb '#ff7f0e' pt 9 ps 0.6 title 'LIBMF defaults', \
     'plot/synth-10m_libmf_k32_l2_0.02.dat' using 1:2 with linespoints lc rgb '#7f7f7f' pt 5 ps 0.6 title 'LIBMF grid best: k 32, l2 0.02', \
     0.5506 with lines dt 2 lc rgb '#1f77b4' title 'LIBMF best + 0.001'
