"""The first run of `gptapi serve` gives the operator a console password, shown once."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.cli.bootstrap import FIRST_RUN_EMAIL, first_run
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings as settings_for


def test_the_operator_can_sign_in_with_the_printed_password(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        platform = Platform(settings_for(url, tmp_path)).start()
        try:

            async def bootstrap(session: AsyncSession) -> str | None:
                return await first_run(session, platform.settings)

            message = platform.run(bootstrap)
            assert message is not None
            match = re.search(
                rf"sign in as {re.escape(FIRST_RUN_EMAIL)}, password (\S+)\)", message
            )
            assert match, message
            assert match.group(1) in (tmp_path / "first-run.txt").read_text()
            assert platform.run(bootstrap) is None  # only once

            signed_in = httpx.post(
                f"{platform.url}/api/auth/signin",
                json={"email": FIRST_RUN_EMAIL, "password": match.group(1)},
            )
            assert signed_in.status_code == 200, signed_in.text
            assert signed_in.json()["me"]["user"]["is_admin"] is True
        finally:
            platform.stop()
