"""Serve the course-notes chat: `python app.py [--host H] [--port P] [--auth user:pass] [--share]`.

Same as `rag chat`; see rag/web/ui.py for the flags and RAG_WEB_* environment variables.
"""
import sys

from rag.web import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
