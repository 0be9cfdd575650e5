"""Start the Gradio app on 127.0.0.1; the seed articles are ingested when the store is empty."""

from __future__ import annotations

import sys

from assistant.errors import AssistantError
from assistant.service import Assistant
from assistant.settings import Settings


def main() -> int:
    """Open the store, ingest seeds if it is empty, and serve the app until interrupted."""
    settings = Settings()
    try:
        from assistant.ui import build_app, launch_options, serve

        launch_options(settings)  # refuse an unsafe address before loading any model
        bot = Assistant.from_settings(settings)
        if bot.is_empty():
            print(f"The store is empty: ingesting {settings.seeds_dir}/ ...", flush=True)
            print(bot.ingest([settings.seeds_dir]).summary(), flush=True)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"Model: {bot.chat.name}. Open http://{settings.host}:{settings.port} in a browser.", flush=True)
    try:
        serve(build_app(bot), settings)
    finally:
        bot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
