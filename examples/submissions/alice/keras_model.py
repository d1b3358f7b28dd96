"""Part 11 — the seed's Keras model (seed 5.1), run by Keras 3 on the torch backend.

The seed writes ``tf.keras``; Keras 3 is the same API without TensorFlow (``import keras``; the grader
sets KERAS_BACKEND=torch).  Input: 784 pixels per image; labels are integers 0–9.
"""
import keras


def build_model():
    """Exercise keras_model.model — Sequential([Dense(128, relu, input 784), Dense(10, softmax)]), compiled with
    optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'].
    """
    ### BEGIN SOLUTION
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
    ### END SOLUTION


def train_model(model, x_train, y_train, epochs=5, batch_size=32):
    """Exercise keras_model.fit — model.fit(x_train, y_train, epochs=epochs) as in the seed; returns the history
    of the loss (a list of floats, one per epoch).  Pass verbose=0 to keep the output quiet.
    """
    ### BEGIN SOLUTION
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
    return [float(v) for v in history.history["loss"]]
    ### END SOLUTION
