file(REMOVE_RECURSE
  "libavt_labels.a"
)
