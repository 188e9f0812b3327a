CMakeFiles/avt_calib.dir/calib/placeholder_calib.c.o: \
 /work/main/calib/placeholder_calib.c /usr/include/stdc-predef.h
