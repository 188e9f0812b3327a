CMakeFiles/avt_sync.dir/sync/placeholder_sync.c.o: \
 /work/main/sync/placeholder_sync.c /usr/include/stdc-predef.h
