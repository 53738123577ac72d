"""mmseg_ext: an MMSegmentation 1.x plugin.

The distribution is called ``mmseg-ext-plugin`` because ``mmseg-ext`` on PyPI
is an unrelated project; the import name is ``mmseg_ext``.
"""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version() -> str:
    """Read ``__version__`` from mmseg_ext/version.py without importing."""
    scope: dict = {}
    with open(osp.join(HERE, 'mmseg_ext', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(name: str = 'requirements.txt') -> list:
    """Requirements of a file, without comments and pytest."""
    with open(osp.join(HERE, name)) as f:
        lines = [line.split('#')[0].strip() for line in f]
    return [line for line in lines if line and line != 'pytest']


setup(
    name='mmseg-ext-plugin',
    version=read_version(),
    description='MMSegmentation 1.x plugin: Tversky/Lovasz losses, '
    'SegFormer conv head, UFormer ensemble, drone/person-part configs',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(include=[
        'mmseg_ext', 'mmseg_ext.*', 'mmseg_ext_deploy', 'mmseg_ext_deploy.*'
    ]),
    install_requires=read_requirements(),
    extras_require=dict(tests=['pytest'], deploy=read_requirements(
        'requirements/deploy.txt')),
)
