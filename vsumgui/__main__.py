from vsumgui.cli import main

raise SystemExit(main())
