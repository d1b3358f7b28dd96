"""Correct engines that differ from the reference: they must get full marks."""

from tests.corpus import Alternative

ALTERNATIVES = [
    Alternative(
        "autograd.ops",
        "every operation written out with its own derivative (no composition)",
        """
        class Value:
            def __sub__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data - other.data, (self, other), "-")
                def _backward():
                    self.grad += out.grad
                    other.grad -= out.grad
                out._backward = _backward
                return out
            def __truediv__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data / other.data, (self, other), "/")
                def _backward():
                    self.grad += out.grad / other.data
                    other.grad += -self.data / other.data ** 2 * out.grad
                out._backward = _backward
                return out
            def __rsub__(self, other):
                return Value(other) - self
            def __rtruediv__(self, other):
                return Value(other) / self
            def __neg__(self):
                out = Value(-self.data, (self,), "neg")
                def _backward():
                    self.grad -= out.grad
                out._backward = _backward
                return out
            def tanh(self):
                e = math.exp(-2 * abs(self.data))
                t = math.copysign((1 - e) / (1 + e), self.data)
                out = Value(t, (self,), "tanh")
                def _backward():
                    self.grad += (1 - out.data ** 2) * out.grad
                out._backward = _backward
                return out
    """,
        merge=True,
    ),
    Alternative(
        "autograd.backward",
        "iterative topological sort (Kahn's algorithm)",
        """
        class Value:
            def backward(self):
                nodes, stack = {id(self): self}, [self]
                while stack:
                    for c in stack.pop()._prev:
                        if id(c) not in nodes:
                            nodes[id(c)] = c
                            stack.append(c)
                users = {k: 0 for k in nodes}
                for v in nodes.values():
                    for c in v._prev:
                        users[id(c)] += 1
                ready, self.grad = [self], 1.0
                while ready:
                    v = ready.pop()
                    v._backward()
                    for c in v._prev:
                        users[id(c)] -= 1
                        if users[id(c)] == 0:
                            ready.append(c)
    """,
        merge=True,
    ),
]
