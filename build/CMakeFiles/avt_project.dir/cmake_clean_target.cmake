file(REMOVE_RECURSE
  "libavt_project.a"
)
