"""Realistic wrong implementations of part 11 (the seed's Keras program)."""

from tests.corpus import Mutant

_BUILD = '''
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(128, activation="{hidden}"),
        keras.layers.Dense(10{out}),
    ])
    model.compile(optimizer="{optimizer}", loss="{loss}", metrics=["accuracy"])
    return model
'''
_OK = dict(hidden="relu", out=', activation="softmax"', optimizer="adam", loss="sparse_categorical_crossentropy")


def _build(**change: str) -> str:
    return _BUILD.format(**{**_OK, **change})


MUTANTS = [
    Mutant("keras_model.model", "no softmax on the output layer", _build(out=""), catches="model output is softmax"),
    Mutant(
        "keras_model.model",
        "categorical_crossentropy with integer labels",
        _build(loss="categorical_crossentropy"),
        catches="compiled loss and accuracy metric",
    ),
    Mutant(
        "keras_model.model",
        "plain SGD instead of Adam",
        _build(optimizer="sgd"),
        catches="build_model has the seed's weights",
    ),
    Mutant("keras_model.model", "sigmoid hidden layer", _build(hidden="sigmoid"), catches="model output is softmax"),
    Mutant(
        "keras_model.model",
        "from_logits=True on a softmax output",
        """
        def build_model():
            model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128, activation="relu"),
                                      keras.layers.Dense(10, activation="softmax")])
            model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
            return model
    """,
        catches="compiled loss and accuracy metric",
    ),
    Mutant(
        "keras_model.model",
        "metrics=['mse'] instead of the accuracy",
        """
        def build_model():
            model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128, activation="relu"),
                                      keras.layers.Dense(10, activation="softmax")])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["mse"])
            return model
    """,
        catches="compiled loss and accuracy metric",
    ),
    Mutant(
        "keras_model.model",
        "a hidden layer of 64 units",
        """
        def build_model():
            model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(64, activation="relu"),
                                      keras.layers.Dense(10, activation="softmax")])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            return model
    """,
        catches="build_model has the seed's weights",
    ),
    Mutant(
        "keras_model.model",
        "never compiled",
        _build().replace("    model.compile(", "    # model.compile("),
        catches="build_model has the seed's weights",
    ),
    Mutant(
        "keras_model.model",
        "images kept as 28x28 (no flattening)",
        _build().replace("keras.Input(shape=(784,))", "keras.Input(shape=(28, 28))"),
        catches="build_model has the seed's weights",
    ),
    Mutant(
        "keras_model.model",
        "kernel_initializer='zeros' (the model never learns)",
        """
        def build_model():
            model = keras.Sequential([
                keras.Input(shape=(784,)),
                keras.layers.Dense(128, activation="relu", kernel_initializer="zeros"),
                keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros"),
            ])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            return model
    """,
        catches="the model build_model returns learns",
    ),
    Mutant(
        "keras_model.model",
        "Adam with a learning rate of 10 (training diverges)",
        """
        def build_model():
            model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128, activation="relu"),
                                      keras.layers.Dense(10, activation="softmax")])
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=10.0),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            return model
    """,
        catches="the model build_model returns learns",
    ),
    Mutant(
        "keras_model.fit",
        "one epoch whatever is asked",
        """
        def train_model(model, x_train, y_train, epochs=5, batch_size=32):
            history = model.fit(x_train, y_train, epochs=1, batch_size=batch_size, verbose=0)
            return [float(v) for v in history.history["loss"]]
    """,
        catches="train_model trains the given model",
    ),
    Mutant(
        "keras_model.fit",
        "trains a fresh model instead of the given one",
        """
        def train_model(model, x_train, y_train, epochs=5, batch_size=32):
            history = build_model().fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
            return [float(v) for v in history.history["loss"]]
    """,
        catches="train_model trains the given model",
    ),
    Mutant(
        "keras_model.fit",
        "returns the History object",
        """
        def train_model(model, x_train, y_train, epochs=5, batch_size=32):
            return model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
    """,
        catches="train_model trains the given model",
    ),
    Mutant(
        "keras_model.fit",
        "returns the accuracy history instead of the loss",
        """
        def train_model(model, x_train, y_train, epochs=5, batch_size=32):
            history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
            return [float(v) for v in history.history["accuracy"]]
    """,
        catches="train_model returns the History's per-epoch loss",
    ),
    Mutant(
        "keras_model.fit",
        "re-compiles the model with SGD before fitting",
        """
        def train_model(model, x_train, y_train, epochs=5, batch_size=32):
            model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
            return [float(v) for v in history.history["loss"]]
    """,
        catches="train_model keeps the Adam optimizer",
    ),
    Mutant(
        "keras_model.fit",
        "batch_size ignored (fit's default of 32)",
        """
        def train_model(model, x_train, y_train, epochs=5, batch_size=32):
            history = model.fit(x_train, y_train, epochs=epochs, verbose=0)
            return [float(v) for v in history.history["loss"]]
    """,
        catches="train_model uses the given batch_size",
    ),
    Mutant(
        "keras_model.fit",
        "the whole training set as one batch",
        """
        def train_model(model, x_train, y_train, epochs=5, batch_size=32):
            history = model.fit(x_train, y_train, epochs=epochs, batch_size=len(x_train), verbose=0)
            return [float(v) for v in history.history["loss"]]
    """,
        catches="reaches 90% on held-out digits",
    ),
]
