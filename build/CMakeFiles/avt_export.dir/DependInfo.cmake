
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/export/card.c" "CMakeFiles/avt_export.dir/export/card.c.o" "gcc" "CMakeFiles/avt_export.dir/export/card.c.o.d"
  "/work/main/export/digest.c" "CMakeFiles/avt_export.dir/export/digest.c.o" "gcc" "CMakeFiles/avt_export.dir/export/digest.c.o.d"
  "/work/main/export/h5x.c" "CMakeFiles/avt_export.dir/export/h5x.c.o" "gcc" "CMakeFiles/avt_export.dir/export/h5x.c.o.d"
  "/work/main/export/inspect.c" "CMakeFiles/avt_export.dir/export/inspect.c.o" "gcc" "CMakeFiles/avt_export.dir/export/inspect.c.o.d"
  "/work/main/export/writer.c" "CMakeFiles/avt_export.dir/export/writer.c.o" "gcc" "CMakeFiles/avt_export.dir/export/writer.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/CMakeFiles/avt_common.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/avt_calib.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
