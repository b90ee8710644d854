"""Fault injection across the library: kills at chosen file operations, full disks, read-only folders,
two writers and readers racing a writer (issue "Nothing lost, nothing crashes")."""
