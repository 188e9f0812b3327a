
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/common/error.c" "CMakeFiles/avt_common.dir/common/error.c.o" "gcc" "CMakeFiles/avt_common.dir/common/error.c.o.d"
  "/work/main/common/geom.c" "CMakeFiles/avt_common.dir/common/geom.c.o" "gcc" "CMakeFiles/avt_common.dir/common/geom.c.o.d"
  "/work/main/common/util.c" "CMakeFiles/avt_common.dir/common/util.c.o" "gcc" "CMakeFiles/avt_common.dir/common/util.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
