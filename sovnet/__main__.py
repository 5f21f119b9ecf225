from sovnet.cli import main

raise SystemExit(main())
