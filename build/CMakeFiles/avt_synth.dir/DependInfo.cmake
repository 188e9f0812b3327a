
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/synth/camera.c" "CMakeFiles/avt_synth.dir/synth/camera.c.o" "gcc" "CMakeFiles/avt_synth.dir/synth/camera.c.o.d"
  "/work/main/synth/lidar.c" "CMakeFiles/avt_synth.dir/synth/lidar.c.o" "gcc" "CMakeFiles/avt_synth.dir/synth/lidar.c.o.d"
  "/work/main/synth/scene.c" "CMakeFiles/avt_synth.dir/synth/scene.c.o" "gcc" "CMakeFiles/avt_synth.dir/synth/scene.c.o.d"
  "/work/main/synth/synth.c" "CMakeFiles/avt_synth.dir/synth/synth.c.o" "gcc" "CMakeFiles/avt_synth.dir/synth/synth.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/CMakeFiles/avt_common.dir/DependInfo.cmake"
  "/work/main/build/CMakeFiles/avt_calib.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
