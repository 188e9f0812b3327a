CMakeFiles/avt_project.dir/project/placeholder_project.c.o: \
 /work/main/project/placeholder_project.c /usr/include/stdc-predef.h
