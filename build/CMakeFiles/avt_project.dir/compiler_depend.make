# Empty compiler generated dependencies file for avt_project.
# This may be replaced when dependencies are built.
