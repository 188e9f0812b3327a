# Empty compiler generated dependencies file for avtruth.
# This may be replaced when dependencies are built.
