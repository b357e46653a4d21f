"""Doctest examples of the activation docstrings.

Each was checked against an mpmath reference when written (the accuracy tests
check the same values far more thoroughly); tests/test_docs.py runs them.
"""
EXAMPLES = {
    'sigmoid': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.sigmoid(x)
array([0.11920292, 0.37754067, 0.5       , 0.62245933, 0.95257413])
>>> fa.sigmoid.backward(np.ones(5), x)
array([0.10499359, 0.23500371, 0.25      , 0.23500371, 0.04517666])
>>> fa.sigmoid(np.array([-np.inf, np.inf, np.nan]))
array([ 0.,  1., nan])
>>> fa.sigmoid.backward(np.ones(5), y=fa.sigmoid(x))  # from the output
array([0.10499359, 0.23500371, 0.25      , 0.23500371, 0.04517666])
''',
    'tanh': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.tanh(x)
array([-0.96402758, -0.46211716,  0.        ,  0.46211716,  0.99505475])
>>> fa.tanh.backward(np.ones(5), x)
array([0.07065082, 0.78644773, 1.        , 0.78644773, 0.00986604])
>>> fa.tanh(np.array([-np.inf, np.inf, np.nan]))
array([-1.,  1., nan])
>>> fa.tanh.backward(np.ones(5), y=fa.tanh(x))  # from the output
array([0.07065082, 0.78644773, 1.        , 0.78644773, 0.00986604])
''',
    'relu': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.relu(x)
array([0. , 0. , 0. , 0.5, 3. ])
>>> fa.relu.backward(np.ones(5), x)
array([0., 0., 0., 1., 1.])
>>> fa.relu(np.array([-np.inf, np.inf, np.nan]))
array([ 0., inf, nan])
>>> fa.relu.backward(np.ones(5), y=fa.relu(x))  # from the output
array([0., 0., 0., 1., 1.])
''',
    'relu6': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.relu6(x)
array([0. , 0. , 0. , 0.5, 3. ])
>>> fa.relu6.backward(np.ones(5), x)
array([0., 0., 0., 1., 1.])
>>> fa.relu6(np.array([-np.inf, np.inf, np.nan]))
array([ 0.,  6., nan])
>>> fa.relu6.backward(np.ones(5), y=fa.relu6(x))  # from the output
array([0., 0., 0., 1., 1.])
''',
    'leaky_relu': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.leaky_relu(x)
array([-0.02 , -0.005,  0.   ,  0.5  ,  3.   ])
>>> fa.leaky_relu.backward(np.ones(5), x)
array([0.01, 0.01, 0.01, 1.  , 1.  ])
>>> fa.leaky_relu(np.array([-np.inf, np.inf, np.nan]))
array([-inf,  inf,  nan])
>>> fa.leaky_relu.backward(np.ones(5), y=fa.leaky_relu(x))  # from the output
array([0.01, 0.01, 0.01, 1.  , 1.  ])
''',
    'elu': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.elu(x)
array([-0.86466472, -0.39346934,  0.        ,  0.5       ,  3.        ])
>>> fa.elu.backward(np.ones(5), x)
array([0.13533528, 0.60653066, 1.        , 1.        , 1.        ])
>>> fa.elu(np.array([-np.inf, np.inf, np.nan]))
array([-1., inf, nan])
>>> fa.elu.backward(np.ones(5), y=fa.elu(x))  # from the output
array([0.13533528, 0.60653066, 1.        , 1.        , 1.        ])
''',
    'celu': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.celu(x)
array([-0.86466472, -0.39346934,  0.        ,  0.5       ,  3.        ])
>>> fa.celu.backward(np.ones(5), x)
array([0.13533528, 0.60653066, 1.        , 1.        , 1.        ])
>>> fa.celu(np.array([-np.inf, np.inf, np.nan]))
array([-1., inf, nan])
>>> fa.celu.backward(np.ones(5), y=fa.celu(x))  # from the output
array([0.13533528, 0.60653066, 1.        , 1.        , 1.        ])
''',
    'selu': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.selu(x)
array([-1.52016647, -0.69175819,  0.        ,  0.52535049,  3.15210296])
>>> fa.selu.backward(np.ones(5), x)
array([0.23793287, 1.06634115, 1.75809934, 1.05070099, 1.05070099])
>>> fa.selu(np.array([-np.inf, np.inf, np.nan]))
array([-1.75809934,         inf,         nan])
>>> fa.selu.backward(np.ones(5), y=fa.selu(x))  # from the output
array([0.23793287, 1.06634115, 1.75809934, 1.05070099, 1.05070099])
''',
    'gelu': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.gelu(x)
array([-0.04550026, -0.15426877,  0.        ,  0.34573123,  2.99595031])
>>> fa.gelu.backward(np.ones(5), x)
array([-0.0852318 ,  0.13250488,  0.5       ,  0.86749512,  1.01194565])
>>> fa.gelu(np.array([-np.inf, np.inf, np.nan]))
array([-0., inf, nan])
''',
    'silu': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.silu(x)
array([-0.23840584, -0.18877033,  0.        ,  0.31122967,  2.85772238])
>>> fa.silu.backward(np.ones(5), x)
array([-0.09078425,  0.26003881,  0.5       ,  0.73996119,  1.08810411])
>>> fa.silu(np.array([-np.inf, np.inf, np.nan]))
array([-0., inf, nan])
''',
    'mish': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.mish(x)
array([-0.25250148, -0.22074377,  0.        ,  0.37524521,  2.986535  ])
>>> fa.mish.backward(np.ones(5), x)
array([-0.10835509,  0.28951068,  0.6       ,  0.88642438,  1.02110691])
>>> fa.mish(np.array([-np.inf, np.inf, np.nan]))
array([-0., inf, nan])
''',
    'softplus': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.softplus(x)
array([0.12692801, 0.47407698, 0.69314718, 0.97407698, 3.04858735])
>>> fa.softplus.backward(np.ones(5), x)
array([0.11920292, 0.37754067, 0.5       , 0.62245933, 0.95257413])
>>> fa.softplus(np.array([-np.inf, np.inf, np.nan]))
array([ 0., inf, nan])
''',
    'hardswish': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.hardswish(x)
array([-0.33333333, -0.20833333,  0.        ,  0.29166667,  3.        ])
>>> fa.hardswish.backward(np.ones(5), x)
array([-0.16666667,  0.33333333,  0.5       ,  0.66666667,  1.        ])
>>> fa.hardswish(np.array([-np.inf, np.inf, np.nan]))
array([ 0., inf, nan])
''',
    'hardsigmoid': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.hardsigmoid(x)
array([0.16666667, 0.41666667, 0.5       , 0.58333333, 1.        ])
>>> fa.hardsigmoid.backward(np.ones(5), x)
array([0.16666667, 0.16666667, 0.16666667, 0.16666667, 0.        ])
>>> fa.hardsigmoid(np.array([-np.inf, np.inf, np.nan]))
array([ 0.,  1., nan])
>>> fa.hardsigmoid.backward(np.ones(5), y=fa.hardsigmoid(x))  # from the output
array([0.16666667, 0.16666667, 0.16666667, 0.16666667, 0.        ])
''',
    'hardtanh': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.hardtanh(x)
array([-1. , -0.5,  0. ,  0.5,  1. ])
>>> fa.hardtanh.backward(np.ones(5), x)
array([0., 1., 1., 1., 0.])
>>> fa.hardtanh(np.array([-np.inf, np.inf, np.nan]))
array([-1.,  1., nan])
>>> fa.hardtanh.backward(np.ones(5), y=fa.hardtanh(x))  # from the output
array([0., 1., 1., 1., 0.])
''',
    'softsign': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.softsign(x)
array([-0.66666667, -0.33333333,  0.        ,  0.33333333,  0.75      ])
>>> fa.softsign.backward(np.ones(5), x)
array([0.11111111, 0.44444444, 1.        , 0.44444444, 0.0625    ])
>>> fa.softsign(np.array([-np.inf, np.inf, np.nan]))
array([-1.,  1., nan])
>>> fa.softsign.backward(np.ones(5), y=fa.softsign(x))  # from the output
array([0.11111111, 0.44444444, 1.        , 0.44444444, 0.0625    ])
''',
    'logsigmoid': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.logsigmoid(x)
array([-2.12692801, -0.97407698, -0.69314718, -0.47407698, -0.04858735])
>>> fa.logsigmoid.backward(np.ones(5), x)
array([0.88079708, 0.62245933, 0.5       , 0.37754067, 0.04742587])
>>> fa.logsigmoid(np.array([-np.inf, np.inf, np.nan]))
array([-inf,  -0.,  nan])
>>> fa.logsigmoid.backward(np.ones(5), y=fa.logsigmoid(x))  # from the output
array([0.88079708, 0.62245933, 0.5       , 0.37754067, 0.04742587])
''',
    'tanhshrink': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.tanhshrink(x)
array([-1.03597242, -0.03788284,  0.        ,  0.03788284,  2.00494525])
>>> fa.tanhshrink.backward(np.ones(5), x)
array([0.92934918, 0.21355227, 0.        , 0.21355227, 0.99013396])
>>> fa.tanhshrink(np.array([-np.inf, np.inf, np.nan]))
array([-inf,  inf,  nan])
''',
    'softshrink': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.softshrink(x)
array([-1.5, -0. ,  0. ,  0. ,  2.5])
>>> fa.softshrink.backward(np.ones(5), x)
array([1., 0., 0., 0., 1.])
>>> fa.softshrink(np.array([-np.inf, np.inf, np.nan]))
array([-inf,  inf,  nan])
>>> fa.softshrink.backward(np.ones(5), y=fa.softshrink(x))  # from the output
array([1., 0., 0., 0., 1.])
''',
    'hardshrink': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.hardshrink(x)
array([-2., -0.,  0.,  0.,  3.])
>>> fa.hardshrink.backward(np.ones(5), x)
array([1., 0., 0., 0., 1.])
>>> fa.hardshrink(np.array([-np.inf, np.inf, np.nan]))
array([-inf,  inf,  nan])
>>> fa.hardshrink.backward(np.ones(5), y=fa.hardshrink(x))  # from the output
array([1., 0., 0., 0., 1.])
''',
    'threshold': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.threshold(x, threshold=0.0, value=-1.0)
array([-1. , -1. , -1. ,  0.5,  3. ])
>>> fa.threshold.backward(np.ones(5), x, threshold=0.0, value=-1.0)
array([0., 0., 0., 1., 1.])
>>> fa.threshold(np.array([-np.inf, np.inf, np.nan]), threshold=0.0, value=-1.0)
array([-1., inf, nan])
''',
    'squareplus': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
>>> fa.squareplus(x)
array([0.41421356, 0.78077641, 1.        , 1.28077641, 3.30277564])
>>> fa.squareplus.backward(np.ones(5), x)
array([0.14644661, 0.37873219, 0.5       , 0.62126781, 0.91602515])
>>> fa.squareplus(np.array([-np.inf, np.inf, np.nan]))
array([ 0., inf, nan])
>>> fa.squareplus.backward(np.ones(5), y=fa.squareplus(x))  # from the output
array([0.14644661, 0.37873219, 0.5       , 0.62126781, 0.91602515])
''',
    'softmax': '''\
>>> import numpy as np, fastact as fa
>>> y = fa.softmax(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, -np.inf]]))
>>> y
array([[0.09003057, 0.24472847, 0.66524096],
       [0.5       , 0.5       , 0.        ]])
>>> fa.softmax.backward(np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), y)
array([[ 0.08192507, -0.02203304, -0.05989202],
       [ 0.25      , -0.25      , -0.        ]])
''',
    'log_softmax': '''\
>>> import numpy as np, fastact as fa
>>> y = fa.log_softmax(np.array([0.0, 1000.0]))
>>> y
array([-1000.,     0.])
>>> fa.log_softmax.backward(np.array([1.0, 0.0]), y)
array([ 1., -1.])
''',
    'softmin': '''\
>>> import numpy as np, fastact as fa
>>> y = fa.softmin(np.array([1.0, 2.0, 3.0]))
>>> y
array([0.66524096, 0.24472847, 0.09003057])
>>> fa.softmin.backward(np.array([1.0, 0.0, 0.0]), y)
array([-0.22269543,  0.1628034 ,  0.05989202])
''',
    'prelu': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([[-2.0, 1.0], [-4.0, -1.0]])
>>> w = np.array([0.25, 0.5])
>>> fa.prelu(x, w)
array([[-0.5,  1. ],
       [-1. , -0.5]])
>>> dx, dw = fa.prelu.backward(np.ones((2, 2)), x, w)
>>> dx
array([[0.25, 1.  ],
       [0.25, 0.5 ]])
>>> dw
array([-6., -1.])
''',
    'glu': '''\
>>> import numpy as np, fastact as fa
>>> x = np.array([1.0, -2.0, 0.0, np.inf])
>>> fa.glu(x)
array([ 0.5, -2. ])
>>> fa.glu.backward(np.ones(2), x)
array([ 0.5 ,  1.  ,  0.25, -0.  ])
''',
}
