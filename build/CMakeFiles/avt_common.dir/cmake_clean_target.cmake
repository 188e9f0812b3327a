file(REMOVE_RECURSE
  "libavt_common.a"
)
