"""Only one thing that pyproject.toml cannot say: copy the course notes into the package at build time.

``corpus/`` stays the one editable copy of the notes (a checkout reads it directly); a built wheel gets
it as ``rag/courses/`` so that ``rag ask`` works from any folder after ``pip install course-rag*.whl``
(``rag.config`` picks whichever is there).
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CORPUS = Path(__file__).resolve().parent / "corpus"


class BuildPyWithCourses(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return   # an editable install reads corpus/ in place
        if not CORPUS.is_dir():
            raise SystemExit(f"{CORPUS} is missing: the wheel would ship without its course notes")
        target = Path(self.build_lib) / "rag" / "courses"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(CORPUS, target, ignore=shutil.ignore_patterns(".*"))


setup(cmdclass={"build_py": BuildPyWithCourses})
