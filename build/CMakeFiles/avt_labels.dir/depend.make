# Empty dependencies file for avt_labels.
# This may be replaced when dependencies are built.
