"""Realistic wrong implementations of part 4 (the autograd engine); each patches methods of ``Value``."""

from tests.corpus import Mutant

MUTANTS = [
    Mutant(
        "autograd.ops",
        "mul sets grad with = instead of += (x * x loses half)",
        """
        class Value:
            def __mul__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data * other.data, (self, other), "*")
                def _backward():
                    self.grad = other.data * out.grad
                    other.grad = self.data * out.grad
                out._backward = _backward
                return out
    """,
        catches="each operation alone",
        merge=True,
    ),
    Mutant(
        "autograd.ops",
        "add overwrites grads: a node reused in a graph keeps only one part",
        """
        class Value:
            def __add__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data + other.data, (self, other), "+")
                def _backward():
                    self.grad = out.grad
                    other.grad = out.grad
                out._backward = _backward
                return out
    """,
        catches="gradients match torch autograd on random graphs",
        merge=True,
    ),
    Mutant(
        "autograd.ops",
        "pow derivative k * a**k",
        """
        class Value:
            def __pow__(self, k):
                out = Value(self.data ** k, (self,), f"**{k}")
                def _backward():
                    self.grad += k * self.data ** k * out.grad
                out._backward = _backward
                return out
    """,
        catches="gradients match torch autograd on random graphs",
        merge=True,
    ),
    Mutant(
        "autograd.ops",
        "division derivative loses the sign of -a/b^2",
        """
        class Value:
            def __truediv__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data / other.data, (self, other), "/")
                def _backward():
                    self.grad += out.grad / other.data
                    other.grad += self.data / other.data ** 2 * out.grad
                out._backward = _backward
                return out
    """,
        catches="gradients match torch autograd on random graphs",
        merge=True,
    ),
    Mutant(
        "autograd.ops",
        "log derivative 1/a^2",
        """
        class Value:
            def log(self):
                out = Value(math.log(self.data), (self,), "log")
                def _backward():
                    self.grad += out.grad / self.data ** 2
                out._backward = _backward
                return out
    """,
        catches="each operation alone",
        merge=True,
    ),
    Mutant(
        "autograd.ops",
        "log forgets the chain rule (no out.grad)",
        """
        class Value:
            def log(self):
                out = Value(math.log(self.data), (self,), "log")
                def _backward():
                    self.grad += 1.0 / self.data
                out._backward = _backward
                return out
    """,
        catches="gradients match torch autograd on random graphs",
        merge=True,
    ),
    Mutant(
        "autograd.ops",
        "tanh derivative 1 - a^2 on the input",
        """
        class Value:
            def tanh(self):
                out = Value(math.tanh(self.data), (self,), "tanh")
                def _backward():
                    self.grad += (1 - self.data ** 2) * out.grad
                out._backward = _backward
                return out
    """,
        catches="gradients match torch autograd on random graphs",
        merge=True,
    ),
    Mutant(
        "autograd.ops",
        "rsub in the wrong order (c - x computed as x - c)",
        """
        class Value:
            def __rsub__(self, other):
                return self - other
    """,
        catches="forward values match torch",
        merge=True,
    ),
    Mutant(
        "autograd.ops",
        "relu mask on out.grad instead of the input",
        """
        class Value:
            def relu(self):
                out = Value(max(self.data, 0.0), (self,), "relu")
                def _backward():
                    self.grad += out.grad * (out.grad > 0)
                out._backward = _backward
                return out
    """,
        catches="each operation alone",
        merge=True,
    ),
    Mutant(
        "autograd.backward",
        "recursive backward without a topological sort",
        """
        class Value:
            def backward(self):
                if self.grad == 0.0:
                    self.grad = 1.0
                self._backward()
                for child in self._prev:
                    child.backward()
    """,
        catches="backward matches torch autograd",
        merge=True,
    ),
    Mutant(
        "autograd.backward",
        "topological order not reversed",
        """
        class Value:
            def backward(self):
                topo, seen = [], set()
                def build(v):
                    if v not in seen:
                        seen.add(v)
                        for child in v._prev:
                            build(child)
                        topo.append(v)
                build(self)
                self.grad = 1.0
                for v in topo:
                    v._backward()
    """,
        catches="backward matches torch autograd",
        merge=True,
    ),
    Mutant(
        "autograd.backward",
        "no visited set: a shared node is visited once per path",
        """
        class Value:
            def backward(self):
                topo = []
                def build(v):
                    for child in v._prev:
                        build(child)
                    topo.append(v)
                build(self)
                self.grad = 1.0
                for v in reversed(topo):
                    v._backward()
    """,
        catches="backward matches torch autograd",
        merge=True,
    ),
    Mutant(
        "autograd.backward",
        "output grad never seeded with 1",
        """
        class Value:
            def backward(self):
                topo, seen = [], set()
                def build(v):
                    if v not in seen:
                        seen.add(v)
                        for child in v._prev:
                            build(child)
                        topo.append(v)
                build(self)
                for v in reversed(topo):
                    v._backward()
    """,
        catches="the output's grad is 1",
        merge=True,
    ),
    Mutant(
        "autograd.backward",
        "backward zeroes every grad first (leaves stop accumulating)",
        """
        class Value:
            def backward(self):
                topo, seen = [], set()
                def build(v):
                    if v not in seen:
                        seen.add(v)
                        for child in v._prev:
                            build(child)
                        topo.append(v)
                build(self)
                for v in topo:
                    v.grad = 0.0
                self.grad = 1.0
                for v in reversed(topo):
                    v._backward()
    """,
        catches="accumulate over backward passes",
        merge=True,
    ),
]
