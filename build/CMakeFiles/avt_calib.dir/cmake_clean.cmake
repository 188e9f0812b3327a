file(REMOVE_RECURSE
  "CMakeFiles/avt_calib.dir/calib/calib_yaml.c.o"
  "CMakeFiles/avt_calib.dir/calib/calib_yaml.c.o.d"
  "libavt_calib.a"
  "libavt_calib.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/avt_calib.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
