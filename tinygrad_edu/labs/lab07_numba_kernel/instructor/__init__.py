"""Lab 7's instructor files: the reference solution, the hidden tests and the planted bugs (not in wheels,
never in a student's folder)."""
