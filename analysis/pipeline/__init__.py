"""Running the project: the command line, the build's rules as data, the build without make,
the pre-imported worker that runs the steps, and the commands around them (bench, timings,
verify, lab)."""
