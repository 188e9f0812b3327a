
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/pipeline/build.c" "CMakeFiles/avt_pipeline.dir/pipeline/build.c.o" "gcc" "CMakeFiles/avt_pipeline.dir/pipeline/build.c.o.d"
  "/work/main/pipeline/preview.c" "CMakeFiles/avt_pipeline.dir/pipeline/preview.c.o" "gcc" "CMakeFiles/avt_pipeline.dir/pipeline/preview.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/CMakeFiles/avt_ingest.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/avt_sync.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/avt_project.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/avt_labels.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/avt_calib.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/avt_export.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/avt_common.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
