# Empty compiler generated dependencies file for avt_export.
# This may be replaced when dependencies are built.
