import sys

if sys.argv[1:2] == ["cohort"]:
    from bench.cohort import main as cohort_main

    raise SystemExit(cohort_main(sys.argv[2:]))

from bench.cli import main

raise SystemExit(main())
