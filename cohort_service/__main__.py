from cohort_service.cli import main

main()
