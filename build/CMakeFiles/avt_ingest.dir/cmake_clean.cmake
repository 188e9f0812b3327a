file(REMOVE_RECURSE
  "CMakeFiles/avt_ingest.dir/ingest/placeholder_ingest.c.o"
  "CMakeFiles/avt_ingest.dir/ingest/placeholder_ingest.c.o.d"
  "libavt_ingest.a"
  "libavt_ingest.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/avt_ingest.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
