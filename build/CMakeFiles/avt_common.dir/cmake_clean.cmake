file(REMOVE_RECURSE
  "CMakeFiles/avt_common.dir/common/error.c.o"
  "CMakeFiles/avt_common.dir/common/error.c.o.d"
  "CMakeFiles/avt_common.dir/common/geom.c.o"
  "CMakeFiles/avt_common.dir/common/geom.c.o.d"
  "CMakeFiles/avt_common.dir/common/util.c.o"
  "CMakeFiles/avt_common.dir/common/util.c.o.d"
  "libavt_common.a"
  "libavt_common.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/avt_common.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
