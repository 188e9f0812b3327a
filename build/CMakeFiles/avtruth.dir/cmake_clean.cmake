file(REMOVE_RECURSE
  "CMakeFiles/avtruth.dir/tools/avtruth.c.o"
  "CMakeFiles/avtruth.dir/tools/avtruth.c.o.d"
  "avtruth"
  "avtruth.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/avtruth.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
