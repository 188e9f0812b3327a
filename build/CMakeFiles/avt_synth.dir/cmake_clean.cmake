file(REMOVE_RECURSE
  "CMakeFiles/avt_synth.dir/synth/camera.c.o"
  "CMakeFiles/avt_synth.dir/synth/camera.c.o.d"
  "CMakeFiles/avt_synth.dir/synth/lidar.c.o"
  "CMakeFiles/avt_synth.dir/synth/lidar.c.o.d"
  "CMakeFiles/avt_synth.dir/synth/scene.c.o"
  "CMakeFiles/avt_synth.dir/synth/scene.c.o.d"
  "CMakeFiles/avt_synth.dir/synth/synth.c.o"
  "CMakeFiles/avt_synth.dir/synth/synth.c.o.d"
  "libavt_synth.a"
  "libavt_synth.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/avt_synth.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
