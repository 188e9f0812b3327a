file(REMOVE_RECURSE
  "CMakeFiles/avt_project.dir/project/box.c.o"
  "CMakeFiles/avt_project.dir/project/box.c.o.d"
  "CMakeFiles/avt_project.dir/project/camera.c.o"
  "CMakeFiles/avt_project.dir/project/camera.c.o.d"
  "libavt_project.a"
  "libavt_project.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/avt_project.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
