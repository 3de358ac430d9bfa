"""Builds the one compiled module, scoring/_plain_csv.pyx (Cython); everything else is in setup.cfg."""

from Cython.Build import cythonize
from setuptools import setup

setup(ext_modules=cythonize(["scoring/_plain_csv.pyx"], compiler_directives={"language_level": "3"}))
