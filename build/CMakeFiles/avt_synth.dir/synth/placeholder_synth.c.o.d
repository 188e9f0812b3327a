CMakeFiles/avt_synth.dir/synth/placeholder_synth.c.o: \
 /work/main/synth/placeholder_synth.c /usr/include/stdc-predef.h
