"""Part 4 — automatic differentiation (seed 3.2): a scalar autograd engine in the style of micrograd.

A :class:`Value` wraps one float.  Every operation on Values returns a new Value that remembers its
inputs (``_prev``) and a function ``_backward`` that, when called, adds ``out.grad × ∂out/∂input`` to
the ``grad`` of each input (the chain rule, one node at a time).  ``backward()`` then runs those
functions over the whole graph in reverse topological order, so a node passes its gradient on only
after every node that uses it has contributed to it.

Plain numbers mix in on either side: ``2 * x``, ``x + 1``, ``1 - x``, ``1 / x`` all work.
Gradients *accumulate* (``+=``): a Value used twice receives the sum of both contributions, and leaves
keep accumulating over several ``backward()`` calls until you reset ``grad`` to 0 yourself (like torch).
"""
import math


class Value:
    """A scalar node of a computation graph: ``data`` (float), ``grad`` (∂output/∂self, float).

    The constructor and ``__repr__`` are given.  ``Value(data, (a, b), "+")`` makes a node whose
    inputs are ``a`` and ``b``; its ``_backward`` does nothing until an operation sets it.
    """

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __repr__(self):
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    # ------------------------------------------------------------------ autograd.ops
    def __add__(self, other):
        """Exercise autograd.ops — out = a + b;  ∂out/∂a = 1, ∂out/∂b = 1."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        """Exercise autograd.ops — out = a · b;  ∂out/∂a = b, ∂out/∂b = a."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        """Exercise autograd.ops — out = aᵏ for a plain number k;  ∂out/∂a = k·aᵏ⁻¹."""
        assert isinstance(k, (int, float)), "only powers by a plain number are supported"
        out = Value(self.data ** k, (self,), f"**{k}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        """Exercise autograd.ops — out = eᵃ;  ∂out/∂a = eᵃ."""
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        """Exercise autograd.ops — out = ln a (a > 0);  ∂out/∂a = 1/a."""
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self):
        """Exercise autograd.ops — out = tanh a;  ∂out/∂a = 1 − tanh²a."""
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1.0 - t * t) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        """Exercise autograd.ops — out = max(0, a);  ∂out/∂a = 1 if a > 0 else 0."""
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        """Exercise autograd.ops — −a (hint: a · (−1))."""
        return self * -1

    def __sub__(self, other):
        """Exercise autograd.ops — a − b."""
        return self + (-other)

    def __truediv__(self, other):
        """Exercise autograd.ops — a / b = a · b⁻¹;  ∂/∂a = 1/b, ∂/∂b = −a/b²."""
        other = other if isinstance(other, Value) else Value(other)
        return self * other ** -1

    def __radd__(self, other):
        """Exercise autograd.ops — number + Value."""
        return self + other

    def __rmul__(self, other):
        """Exercise autograd.ops — number · Value."""
        return self * other

    def __rsub__(self, other):
        """Exercise autograd.ops — number − Value (note the order: other − self)."""
        return (-self) + other

    def __rtruediv__(self, other):
        """Exercise autograd.ops — number / Value (other / self)."""
        return self ** -1 * other

    # ------------------------------------------------------------------ autograd.backward
    def backward(self):
        """Exercise autograd.backward — fill ``grad`` of every node this Value depends on.

        Sort the graph topologically (every node after all of its inputs), set ``self.grad = 1``
        (∂self/∂self), then call each node's ``_backward`` in *reverse* topological order.
        Do not reset other grads: they accumulate.
        """
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

