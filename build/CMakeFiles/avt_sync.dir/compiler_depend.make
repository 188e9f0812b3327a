# Empty compiler generated dependencies file for avt_sync.
# This may be replaced when dependencies are built.
