file(REMOVE_RECURSE
  "libavt_export.a"
)
