CMakeFiles/avt_ingest.dir/ingest/placeholder_ingest.c.o: \
 /work/main/ingest/placeholder_ingest.c /usr/include/stdc-predef.h
