from wistia_simulator.cli import main

raise SystemExit(main())
