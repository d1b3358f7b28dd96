"""Realistic wrong implementations of part 3 (backprop)."""

from tests.corpus import Mutant

MUTANTS = [
    Mutant(
        "backprop.linear",
        "missing bias gradient (db = 0)",
        """
        def affine_backward(dout, cache):
            x, w = cache
            return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, np.zeros(w.shape[1])
    """,
        catches="affine_backward passes the gradient check",
    ),
    Mutant(
        "backprop.linear",
        "db summed over the wrong axis",
        """
        def affine_backward(dout, cache):
            x, w = cache
            return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=1)
    """,
        catches="affine_backward matches torch autograd",
    ),
    Mutant(
        "backprop.linear",
        "dx not reshaped back to x's shape",
        """
        def affine_backward(dout, cache):
            x, w = cache
            return dout @ w.T, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
    """,
        catches="affine_backward passes the gradient check",
    ),
    Mutant(
        "backprop.linear",
        "sign slip in dw",
        """
        def affine_backward(dout, cache):
            x, w = cache
            return (dout @ w.T).reshape(x.shape), -(x.reshape(x.shape[0], -1).T @ dout), dout.sum(axis=0)
    """,
        catches="affine_backward passes the gradient check",
    ),
    Mutant(
        "backprop.linear",
        "x reshaped to (D, N) and transposed",
        """
        def affine_forward(x, w, b):
            return x.reshape(w.shape[0], -1).T @ w + b, (x, w)
    """,
        catches="affine_forward matches torch",
    ),
    Mutant(
        "backprop.activation_layers",
        "relu backward skipped",
        """
        def affine_relu_backward(dout, cache):
            fc_cache, relu_cache = cache
            return affine_backward(dout, fc_cache)
    """,
        catches="affine_relu_backward passes the gradient check (relu)",
    ),
    Mutant(
        "backprop.activation_layers",
        "ReLU mask applied after the affine backward, on the input x",
        """
        def affine_relu_backward(dout, cache):
            fc_cache, relu_cache = cache
            x, w = fc_cache
            dx, dw, db = affine_backward(dout, fc_cache)
            return relu_backward(dx, x), dw, db
    """,
        catches="affine_relu_backward matches torch autograd (relu)",
    ),
    Mutant(
        "backprop.activation_layers",
        "ReLU before the affine layer",
        """
        def affine_relu_forward(x, w, b):
            r, relu_cache = relu_forward(x)
            out, fc_cache = affine_forward(r, w, b)
            return out, (fc_cache, relu_cache)
    """,
        catches="affine_relu_forward matches the reference (relu)",
    ),
    Mutant(
        "backprop.activation_layers",
        "sigmoid derivative applied to the pre-activation",
        """
        def affine_sigmoid_forward(x, w, b):
            a, fc_cache = affine_forward(x, w, b)
            out, _ = sigmoid_forward(a)
            return out, (fc_cache, a)
    """,
        catches="affine_sigmoid_backward passes the gradient check (sigmoid)",
    ),
    Mutant(
        "backprop.mlp",
        "missing the ReLU backward",
        """
        def two_layer_loss(params, X, y):
            h, (fc1, relu_cache) = affine_relu_forward(X, params["W1"], params["b1"])
            scores, cache2 = affine_forward(h, params["W2"], params["b2"])
            loss, dscores = softmax_cross_entropy(scores, y)
            dh, dW2, db2 = affine_backward(dscores, cache2)
            _, dW1, db1 = affine_backward(dh, fc1)
            return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    """,
        catches="two_layer_loss: the gradients pass the gradient check",
    ),
    Mutant(
        "backprop.mlp",
        "divides by the batch a second time",
        """
        def two_layer_loss(params, X, y):
            h, cache1 = affine_relu_forward(X, params["W1"], params["b1"])
            scores, cache2 = affine_forward(h, params["W2"], params["b2"])
            loss, dscores = softmax_cross_entropy(scores, y)
            dscores = dscores / X.shape[0]
            dh, dW2, db2 = affine_backward(dscores, cache2)
            _, dW1, db1 = affine_relu_backward(dh, cache1)
            return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    """,
        catches="two_layer_loss: the gradients match torch autograd",
    ),
    Mutant(
        "backprop.mlp",
        "dW2 from the pre-activation instead of the hidden layer",
        """
        def two_layer_loss(params, X, y):
            z = X @ params["W1"] + params["b1"]
            h = np.maximum(z, 0)
            scores = h @ params["W2"] + params["b2"]
            loss, dscores = softmax_cross_entropy(scores, y)
            dW2 = z.T @ dscores
            db2 = dscores.sum(axis=0)
            dz = (dscores @ params["W2"].T) * (z > 0)
            return loss, {"W1": X.T @ dz, "b1": dz.sum(axis=0), "W2": dW2, "b2": db2}
    """,
        catches="two_layer_loss: the gradients pass the gradient check",
    ),
    Mutant(
        "backprop.mlp",
        "no ReLU in the forward pass",
        """
        def two_layer_loss(params, X, y):
            h, cache1 = affine_forward(X, params["W1"], params["b1"])
            scores, cache2 = affine_forward(h, params["W2"], params["b2"])
            loss, dscores = softmax_cross_entropy(scores, y)
            dh, dW2, db2 = affine_backward(dscores, cache2)
            _, dW1, db1 = affine_backward(dh, cache1)
            return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    """,
        catches="two_layer_loss: the loss matches torch",
    ),
    Mutant(
        "backprop.mlp",
        "updates the parameters in place",
        """
        def two_layer_loss(params, X, y):
            h, cache1 = affine_relu_forward(X, params["W1"], params["b1"])
            scores, cache2 = affine_forward(h, params["W2"], params["b2"])
            loss, dscores = softmax_cross_entropy(scores, y)
            dh, dW2, db2 = affine_backward(dscores, cache2)
            _, dW1, db1 = affine_relu_backward(dh, cache1)
            grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
            for k in grads:
                params[k] -= 0.1 * grads[k]
            return loss, grads
    """,
        catches="two_layer_loss leaves its inputs unchanged",
    ),
    Mutant(
        "backprop.mlp",
        "own softmax without max-subtraction",
        """
        def two_layer_loss(params, X, y):
            h, cache1 = affine_relu_forward(X, params["W1"], params["b1"])
            scores, cache2 = affine_forward(h, params["W2"], params["b2"])
            n = X.shape[0]
            e = np.exp(scores)
            p = e / e.sum(axis=1, keepdims=True)
            loss = -np.mean(np.log(p[np.arange(n), y]))
            p[np.arange(n), y] -= 1
            dh, dW2, db2 = affine_backward(p / n, cache2)
            _, dW1, db1 = affine_relu_backward(dh, cache1)
            return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    """,
        catches="two_layer_loss is finite and correct on extreme inputs",
    ),
    Mutant(
        "backprop.activation_layers",
        "ReLU mask applied to dout in place",
        """
        def affine_relu_backward(dout, cache):
            fc_cache, a = cache
            dout[a <= 0] = 0
            return affine_backward(dout, fc_cache)
    """,
        catches="affine_relu_backward leaves dout and the cache unchanged",
    ),
    Mutant(
        "backprop.linear",
        "backward reshapes x in the cache in place",
        """
        def affine_backward(dout, cache):
            x, w = cache
            dx = (dout @ w.T).reshape(x.shape)
            x.shape = (x.shape[0], -1)
            return dx, x.T @ dout, dout.sum(axis=0)
    """,
        catches="affine_backward leaves dout and the cache unchanged",
    ),
]
