"""Print the server's OpenAPI document; the web console's typed client is generated from it:
`python -m gptapi.console_web.openapi > web/openapi.json` (`make openapi` does that and more).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from gptapi.app import create_app
from gptapi.config import Settings


def document() -> dict[str, Any]:
    return create_app(Settings(_env_file=None)).openapi()


def main() -> None:
    json.dump(document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
