"""Part 11 — the seed's Keras model (seed 5.1), run by Keras 3 on the torch backend.

The seed writes ``tf.keras``; Keras 3 is the same API without TensorFlow (``import keras``; the grader
sets KERAS_BACKEND=torch).  Input: 784 pixels per image; labels are integers 0–9.
"""
import keras


def build_model():
    """Exercise keras_model.model — Sequential([Dense(128, relu, input 784), Dense(10, softmax)]), compiled with
    optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'].
    """
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train_model(model, x_train, y_train, epochs=5, batch_size=32):
    history = model.fit(x_train, y_train, epochs=1, batch_size=batch_size, verbose=0)
    return [float(v) for v in history.history["loss"]]
