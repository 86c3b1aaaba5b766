"""
Saving and loading a model
==========================

``scratchlearn.save`` writes a fitted (or unfitted) estimator to a model file: a NumPy
``.npz`` archive of arrays and one JSON header, with no pickle in it, so opening a file
from someone else runs no code. ``scratchlearn.load`` reads it back and checks every
stored attribute before it builds the estimator.
"""

# %%
# Save, load, and get the same answers
# ------------------------------------
import json
import pickle
import tempfile
import zipfile
from pathlib import Path

import numpy as np

import scratchlearn
from scratchlearn import KNeighborsClassifier, SoftmaxRegression
from scratchlearn.datasets import load_digits_split

X_train, X_test, y_train, y_test = load_digits_split()
model = SoftmaxRegression(alpha=1 / len(X_train)).fit(X_train, y_train)

workspace = tempfile.TemporaryDirectory()  # removed at the end
folder = Path(workspace.name)
path = folder / "softmax.npz"
scratchlearn.save(model, path)
same = scratchlearn.load(path)

print(same)
print("identical predictions:", np.array_equal(same.predict(X_test), model.predict(X_test)))
print("identical probabilities:",
      np.array_equal(same.predict_proba(X_test), model.predict_proba(X_test)))
print("identical coef_:", np.array_equal(same.coef_, model.coef_), same.coef_.dtype)

# %%
# What is in the file
# -------------------
# One ``.npy`` member per fitted array, named after its attribute, and ``header.npy``: the
# format and its version, the class, ``get_params()`` and a description of each
# attribute.
with zipfile.ZipFile(path) as archive:
    for info in archive.infolist():
        print(f"{info.filename:22s} {info.file_size:8,d} bytes")
    with archive.open("header.npy") as member:
        header = json.loads(np.lib.format.read_array(member, allow_pickle=False).item())
print(json.dumps({key: header[key] for key in header if key != "attributes"}, indent=2))

# %%
# A kNN model is its training set
# -------------------------------
# A kNN classifier stores the training points; the KD-tree or the norms that speed up its
# search are rebuilt on load rather than stored.
knn = KNeighborsClassifier(n_neighbors=5).fit(X_train, y_train)
scratchlearn.save(knn, folder / "knn.npz")
knn_again = scratchlearn.load(folder / "knn.npz")
print(f"{(folder / 'knn.npz').stat().st_size:,} bytes;",
      "same neighbours:",
      np.array_equal(knn_again.kneighbors(X_test)[1], knn.kneighbors(X_test)[1]))

# %%
# What ``load`` refuses
# ---------------------
# A pickle, a truncated file or a file whose attributes contradict each other is refused
# with a ``ValueError`` that says what is wrong; nothing in the file is run.
(folder / "model.pkl").write_bytes(pickle.dumps(model))
truncated = folder / "truncated.npz"
truncated.write_bytes(path.read_bytes()[:2_000])
for bad in (folder / "model.pkl", truncated):
    try:
        scratchlearn.load(bad)
    except ValueError as error:
        print(f"{bad.name}: ValueError: {str(error).replace(str(folder), 'TMP')}\n")

workspace.cleanup()
