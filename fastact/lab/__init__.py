"""The activation lab: ``python -m fastact list | plot | compare``.

Everything here runs on fastact's own kernels plus NumPy; the heavier tools
(matplotlib, scikit-learn's bundled digits, tqdm) come with the ``lab`` extra
(``pip install 'fastact[lab]'``) and are imported only by the commands that
need them.

Modules
-------
cli         argument parsing and the three commands
data        scikit-learn's digits and the Fashion-MNIST IDX files (no download)
mlp         the multilayer perceptron: init, forward/backward, optimizers
train       one training run per activation, with the measured statistics
properties  the numeric properties shown by ``list`` (measured, not typed in)
plots       the figures (matplotlib, Agg, no pyplot state)
report      results.json / results.csv / results.md and the printed tables
"""
