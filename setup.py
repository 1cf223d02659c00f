from setuptools import setup

setup(cffi_modules=["interpcli/_native/build.py:ffibuilder"])
