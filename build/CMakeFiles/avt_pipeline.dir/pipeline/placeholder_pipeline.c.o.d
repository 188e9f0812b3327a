CMakeFiles/avt_pipeline.dir/pipeline/placeholder_pipeline.c.o: \
 /work/main/pipeline/placeholder_pipeline.c /usr/include/stdc-predef.h
