import sys

from atune_bridge._cli import main

sys.exit(main())
