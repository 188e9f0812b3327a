# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
subdirs("ingest")
subdirs("calib")
subdirs("project")
subdirs("labels")
subdirs("export")
subdirs("synth")
subdirs("e2e")
