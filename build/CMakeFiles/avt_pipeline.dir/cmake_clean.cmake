file(REMOVE_RECURSE
  "CMakeFiles/avt_pipeline.dir/pipeline/build.c.o"
  "CMakeFiles/avt_pipeline.dir/pipeline/build.c.o.d"
  "CMakeFiles/avt_pipeline.dir/pipeline/preview.c.o"
  "CMakeFiles/avt_pipeline.dir/pipeline/preview.c.o.d"
  "libavt_pipeline.a"
  "libavt_pipeline.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/avt_pipeline.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
