file(REMOVE_RECURSE
  "CMakeFiles/avt_export.dir/export/placeholder_export.c.o"
  "CMakeFiles/avt_export.dir/export/placeholder_export.c.o.d"
  "libavt_export.a"
  "libavt_export.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/avt_export.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
