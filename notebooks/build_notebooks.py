"""Writes the notebooks of this folder from the cells below (outputs stripped): edit here, run, commit.

    .venv/bin/python notebooks/build_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent



def imports(*third_party: str) -> str:
    """The first cell: standard library, third-party, then our own imports (ruff's order)."""
    blocks = ["import os\nfrom pathlib import Path", "\n".join(third_party), "from app.workspace import Workspace"]
    return "\n\n".join(b for b in blocks if b)


IMPORTS = imports()

OPEN = '''# the data dir `make demo` fills (MovieLens 100k synced); PROFILE_AI_DATA_DIR overrides it
root = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
DATA_DIR = os.environ.get("PROFILE_AI_DATA_DIR", str(root / ".profile-ai"))
ws = Workspace.open(DATA_DIR)'''

NOTEBOOKS = {
    "01_explore_and_search.ipynb": [
        ("md", "# Explore customers and search them by meaning\n\nOpens the data dir that `make demo` synced "
               "(MovieLens 100k as Tracardi profiles) as pandas DataFrames: no server needed."),
        ("code", IMPORTS),
        ("code", OPEN),
        ("code", "profiles = ws.profiles()\nprint(len(profiles), 'profiles')\nprofiles.drop(columns=['document'])"
                 ".head()"),
        ("code", "profiles[['event_count', 'active_days', 'rating_mean']].describe()"),
        ("md", "Each profile's document is what the embedding sees: a summary of its whole history, no contact "
               "details."),
        ("code", "print(profiles.loc[0, 'document'])"),
        ("md", "## Search by meaning, with filters"),
        ("code", "hits = ws.search('horror movie fans', limit=5)\nhits[['profile_id', 'score', 'summary']]"),
        ("code", "young = ws.search('people who love documentaries', limit=5, filters=['age<=30'])\n"
                 "assert (young['traits'].map(lambda t: t['age']) <= 30).all()\nyoung[['profile_id', 'score', "
                 "'why']]"),
        ("md", "## Lookalikes"),
        ("code", "ws.similar(hits.loc[0, 'profile_id'], limit=5)[['profile_id', 'similarity', 'percentile', "
                 "'summary']]"),
        ("code", "ws.close()"),
    ],
    "02_smart_segments.ipynb": [
        ("md", "# Smart segments\n\nClusters the profiles on their vectors plus behaviour, names and explains each "
               "segment, and shows them on a 2-D map."),
        ("code", "%matplotlib inline\n" + imports("import matplotlib.pyplot as plt", "import numpy as np",
                                                   "from sklearn.decomposition import PCA")),
        ("code", OPEN),
        ("code", "segments = ws.discover(random_state=0)\nrun = ws.last_discovery\nprint(f\"k={run['k']}, "
                 "stability (ARI) {run['stability']}\")\nsegments[['segment_id', 'name', 'size', 'share', "
                 "'stability']]"),
        ("code", "for _, s in segments.iterrows():\n    print(s['name'], '-', s['description'], '\\n')"),
        ("md", "## Sizes and the features that set each segment apart (lift vs everyone)"),
        ("code", "fig, axes = plt.subplots(1, 2, figsize=(12, 4))\naxes[0].barh(segments['name'], "
                 "segments['size'])\naxes[0].set_title('segment size')\nrows = [(s['name'], f['label'], f['lift'])"
                 " for _, s in segments.iterrows() for f in s['features'][:3] if f.get('lift')]\n"
                 "axes[1].barh([f'{name}: {label}' for name, label, _ in rows], [x for *_, x in rows])\n"
                 "axes[1].set_title('top features (lift)')\nplt.tight_layout()"),
        ("md", "## A 2-D map of the profiles, coloured by segment"),
        ("code", "ids, vectors = ws.vectors()\nlabel = {}\n"
                 "for _, s in segments.iterrows():\n    for pid in ws.segment_members(s['segment_id'])['profile_id']:"
                 "\n        label[pid] = s['name']\nxy = PCA(2, random_state=0).fit_transform(vectors)\n"
                 "names = sorted(set(label.values()))\nfig, ax = plt.subplots(figsize=(7, 6))\nfor n in names:\n"
                 "    m = np.array([label.get(p) == n for p in ids])\n    ax.scatter(xy[m, 0], xy[m, 1], s=6, "
                 "label=n)\nax.legend(markerscale=3)\nax.set_title('profiles (PCA of their vectors)')"),
        ("md", "## Rules: membership as SQL and Tracardi TQL, with measured precision and recall"),
        ("code", "for _, s in segments.iterrows():\n    r = s['rules']\n    print(s['name'])\n    print(f\"  SQL p={r['sql']['precision']:.2f} "
                 "r={r['sql']['recall']:.2f}\", r['sql']['sql'][:200])\n    "
                 "print('  TQL', r['tql'].get('tql') or r['tql'].get('note'))"),
        ("code", "ws.close()"),
    ],
    "03_predictions.ipynb": [
        ("md", "# A behaviour prediction and its model card\n\nTrains a 30-day churn model point in time "
               "(features before as-of, labels after), then reads its card: quality in words, holdout metrics "
               "beside the baselines, drivers, calibration and lift."),
        ("code", "%matplotlib inline\n" + imports("import matplotlib.pyplot as plt", "import pandas as pd")),
        ("code", OPEN),
        ("code", "model = ws.train('churn', horizon_days=30)\ncard = model['card']\nprint(model['model_id'], '-', "
                 "card['quality'], '-', card['sufficiency']['verdict'])\npd.DataFrame({'this model': "
                 "card['holdout'], **card['baselines']}).T"),
        ("code", "pd.DataFrame(card['drivers'])"),
        ("md", "## Calibration and lift on the holdout"),
        ("code", "cal = pd.DataFrame(card['curves']['calibration'])\nlift = pd.DataFrame(card['curves']['lift'])\n"
                 "fig, axes = plt.subplots(1, 2, figsize=(11, 4))\naxes[0].plot([0, 1], [0, 1], '--', color='grey')"
                 "\naxes[0].plot(cal['predicted'], cal['observed'], 'o-')\naxes[0].set_xlabel('predicted')\n"
                 "axes[0].set_ylabel('observed')\naxes[0].set_title('calibration (score deciles)')\n"
                 "axes[1].plot(lift['top'], lift['capture'], 'o-', label='this model')\naxes[1].plot([0, 1], "
                 "[0, 1], '--', color='grey', label='random')\naxes[1].set_xlabel('top share of customers')\n"
                 "axes[1].set_ylabel('share of churners captured')\naxes[1].legend()\naxes[1].set_title('lift')"),
        ("md", "## Score everyone: probability, percentile, tier and each customer's drivers"),
        ("code", "scores = ws.score(model_id=model['model_id'])\nprint(scores['tier'].value_counts())\n"
                 "scores[['profile_id', 'probability', 'percentile', 'tier', 'drivers']].head()"),
        ("code", "ws.close()"),
    ],
    "04_bring_your_own_model.ipynb": [
        ("md", "# Bring your own model\n\nExport point-in-time features and labels, train any scikit-learn "
               "model, and write its predictions back: they get percentiles, tiers and lineage like ours and "
               "are queued for Tracardi."),
        ("code", imports("import pandas as pd", "from sklearn.ensemble import RandomForestClassifier",
                         "from sklearn.metrics import roc_auc_score")),
        ("code", OPEN),
        ("code", "# features only see events before as_of; the label is 'rated a Drama in the next 30 days'\n"
                 "goal = 'event:content-rated[genres=Drama]'\ntrain = ws.training_frame(goal, horizon_days=30, "
                 "as_of='1998-02-20T00:00:00Z')\ntest = ws.training_frame(goal, horizon_days=30, "
                 "as_of='1998-03-22T00:00:00Z')\nprint(train.shape, train['label'].mean().round(3))\n"
                 "train.iloc[:3, :8]"),
        ("code", "X_cols = [c for c in train.columns if c != 'label']\nclf = RandomForestClassifier(300, "
                 "min_samples_leaf=5, random_state=0)\nclf.fit(train[X_cols].fillna(-1), train['label'])\n"
                 "auc = roc_auc_score(test['label'], clf.predict_proba(test[X_cols].fillna(-1))[:, 1])\n"
                 "print('holdout AUC', round(auc, 3))"),
        ("code", "# score the latest snapshot and write the predictions back\nnow = ws.training_frame(goal, "
                 "horizon_days=30, as_of='1998-04-23T00:00:00Z')\nscores = pd.Series(clf.predict_proba("
                 "now[X_cols].fillna(-1))[:, 1], index=now.index)\nres = ws.write_predictions(scores, goal, "
                 "'random forest (notebook)', metrics={'auc': round(auc, 3)})\nres"),
        ("code", "mine = ws.predictions(goal)\nmine = mine[mine['model_id'] == res['model_id']]\n"
                 "print(mine['tier'].value_counts())\nmine.head()"),
        ("code", "ws.close()"),
    ],
}


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src)
                                 for kind, src in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    main()
