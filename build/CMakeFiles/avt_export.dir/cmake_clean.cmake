file(REMOVE_RECURSE
  "CMakeFiles/avt_export.dir/export/card.c.o"
  "CMakeFiles/avt_export.dir/export/card.c.o.d"
  "CMakeFiles/avt_export.dir/export/digest.c.o"
  "CMakeFiles/avt_export.dir/export/digest.c.o.d"
  "CMakeFiles/avt_export.dir/export/h5x.c.o"
  "CMakeFiles/avt_export.dir/export/h5x.c.o.d"
  "CMakeFiles/avt_export.dir/export/inspect.c.o"
  "CMakeFiles/avt_export.dir/export/inspect.c.o.d"
  "CMakeFiles/avt_export.dir/export/writer.c.o"
  "CMakeFiles/avt_export.dir/export/writer.c.o.d"
  "libavt_export.a"
  "libavt_export.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/avt_export.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
