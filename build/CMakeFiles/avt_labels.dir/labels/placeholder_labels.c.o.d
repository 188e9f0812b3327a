CMakeFiles/avt_labels.dir/labels/placeholder_labels.c.o: \
 /work/main/labels/placeholder_labels.c /usr/include/stdc-predef.h
