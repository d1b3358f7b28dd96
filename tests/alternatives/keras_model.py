"""Correct implementations of part 11 that differ from the reference: they must get full marks."""

from tests.corpus import Alternative

ALTERNATIVES = [
    Alternative(
        "keras_model.model",
        "the seed's literal form (input_shape=) with optimizer and loss objects",
        """
        def build_model():
            model = keras.Sequential([
                keras.layers.Dense(128, activation="relu", input_shape=(784,)),
                keras.layers.Dense(10, activation="softmax"),
            ])
            model.compile(optimizer=keras.optimizers.Adam(),
                          loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
            return model
    """,
    ),
    Alternative(
        "keras_model.model",
        "the loss as a function and SparseCategoricalAccuracy()",
        """
        def build_model():
            model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128, activation="relu"),
                                      keras.layers.Dense(10, activation="softmax")])
            model.compile(optimizer="adam", loss=keras.losses.sparse_categorical_crossentropy,
                          metrics=[keras.metrics.SparseCategoricalAccuracy()])
            return model
    """,
    ),
    Alternative(
        "keras_model.model",
        "Dense(128) followed by a ReLU() layer, metrics=['acc']",
        """
        def build_model():
            model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128), keras.layers.ReLU(),
                                      keras.layers.Dense(10), keras.layers.Softmax()])
            model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy", metrics=["acc"])
            return model
    """,
    ),
    Alternative(
        "keras_model.fit",
        "explicit shuffle, losses via map(float, ...)",
        """
        def train_model(model, x_train, y_train, epochs=5, batch_size=32):
            history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
            return list(map(float, history.history["loss"]))
    """,
    ),
    Alternative(
        "keras_model.model",
        "kernel_initializer='he_normal' for the ReLU layer",
        """
        def build_model():
            model = keras.Sequential([
                keras.Input(shape=(784,)),
                keras.layers.Dense(128, activation="relu", kernel_initializer="he_normal"),
                keras.layers.Dense(10, activation="softmax"),
            ])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            return model
    """,
    ),
    Alternative(
        "keras_model.fit",
        "one fit call per epoch, keyword arguments, validation_split=0",
        """
        def train_model(model, x_train, y_train, epochs=5, batch_size=32):
            losses = []
            for _ in range(epochs):
                history = model.fit(x=x_train, y=y_train, epochs=1, batch_size=batch_size, shuffle=True,
                                    validation_split=0.0, verbose=0)
                losses += history.history["loss"]
            return losses
    """,
    ),
    Alternative(
        "keras_model.fit",
        "re-compiles with a fresh Adam of the same settings",
        """
        def train_model(model, x_train, y_train, epochs=5, batch_size=32):
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=model.loss,
                          metrics=["accuracy"])
            return model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0).history["loss"]
    """,
    ),
]
