file(REMOVE_RECURSE
  "CMakeFiles/avt_labels.dir/labels/labels.c.o"
  "CMakeFiles/avt_labels.dir/labels/labels.c.o.d"
  "CMakeFiles/avt_labels.dir/labels/poses.c.o"
  "CMakeFiles/avt_labels.dir/labels/poses.c.o.d"
  "libavt_labels.a"
  "libavt_labels.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/avt_labels.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
