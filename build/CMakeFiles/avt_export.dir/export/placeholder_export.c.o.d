CMakeFiles/avt_export.dir/export/placeholder_export.c.o: \
 /work/main/export/placeholder_export.c /usr/include/stdc-predef.h
