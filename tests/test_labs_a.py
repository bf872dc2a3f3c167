"""The real-work exercises of notebooks 01, 02 and 03: their checkers accept the right answer and
reject each typical wrong one with its hint.  (The exercise format itself is tested in test_labs.py.)"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lab_asserts import accepts, rejects
from phe import paillier
from sklearn.model_selection import StratifiedKFold

import encmed_lib as em
from encmed_lib import labs
from encmed_lib.data.heart import CODES, FEATURES, LIMITS, ZERO_MEANS_MISSING
from encmed_lib.data.paths import data_dir
from encmed_lib.labs.nb01 import corrupted_heart, read_raw_heart
from encmed_lib.labs.nb02 import scan_splits
from encmed_lib.plots.data import provider_labels


# ------------------------------------------------------------- 01.1 · SMD
@pytest.fixture(scope="module")
def heart():
    return em.load_heart()


def test_check_01_smd_accepts_the_formula(heart):
    X, y = heart
    sick, healthy = X[y == 1], X[y == 0]
    smd = (sick.mean() - healthy.mean()) / np.sqrt((sick.var() + healthy.var()) / 2)
    top3 = smd.abs().sort_values(ascending=False).index[:3].tolist()
    message = accepts(labs.check_01_smd, smd, top3)
    assert ", ".join(top3) in message
    # a dict, another column order, a tuple of names: the same answer
    accepts(labs.check_01_smd, dict(smd[::-1]), tuple(top3))
    # another table: the checker recomputes from it
    half = X.iloc[: len(X) // 2]
    s2, h2 = half[y.iloc[: len(half)] == 1], half[y.iloc[: len(half)] == 0]
    smd2 = (s2.mean() - h2.mean()) / np.sqrt((s2.var() + h2.var()) / 2)
    accepts(labs.check_01_smd, smd2, smd2.abs().sort_values(ascending=False).index[:3].tolist(),
            half, y.iloc[: len(half)])


def test_check_01_smd_rejects_the_usual_mistakes(heart):
    X, y = heart
    sick, healthy = X[y == 1], X[y == 0]
    diff = sick.mean() - healthy.mean()
    pooled = np.sqrt((sick.var() + healthy.var()) / 2)
    smd = diff / pooled
    top3 = smd.abs().sort_values(ascending=False).index[:3].tolist()
    check = labs.check_01_smd
    rejects(check, -smd, top3, hint="sign is reversed")
    rejects(check, diff / np.sqrt((sick.var(ddof=0) + healthy.var(ddof=0)) / 2), top3, hint="ddof=1")
    rejects(check, diff / X.std(), top3, hint="standard deviation of all patients")
    rejects(check, diff / np.sqrt(sick.var() + healthy.var()), top3, hint="divide their sum by 2")
    rejects(check, diff / ((sick.std() + healthy.std()) / 2), top3, hint="then take the square root")
    rejects(check, diff, top3, hint="raw difference of the means")
    Xi, yi = em.load_heart(missing="impute")
    si, hi = Xi[yi == 1], Xi[yi == 0]
    rejects(check, (si.mean() - hi.mean()) / np.sqrt((si.var() + hi.var()) / 2), top3, hint="imputed")
    rejects(check, smd.to_numpy(), top3, hint="NumPy array loses them")
    rejects(check, smd.drop("age"), top3, hint="lacks ['age']")
    rejects(check, smd.where(smd.index != "chol", 0.0), top3, hint="1 of the 13 values")
    rejects(check, None, top3, hint="no answer yet")
    signed = smd.sort_values(ascending=False).index[:3].tolist()
    assert signed != top3  # thalach: strongly negative
    rejects(check, smd, signed, hint="absolute value")
    rejects(check, smd, top3[::-1], hint="reversed")
    rejects(check, smd, [top3[1], top3[0], top3[2]], hint="wrong order")
    rejects(check, smd, top3[:2], hint="exactly three")
    rejects(check, smd, "thal", hint="list of three names")
    rejects(check, smd, smd.abs().sort_values().index[3:6].tolist(), hint="sort the attributes")


# ------------------------------------------------------ 01.2 · raw-file audit
def audit_right(raw):
    rows = {}
    for col in FEATURES:
        values = raw[col]
        missing = values.isna()
        if col in ZERO_MEANS_MISSING:
            missing = missing | (values == 0)
        present = values[~missing]
        if col in CODES["uci"]:
            invalid = ~present.isin(CODES["uci"][col])
        else:
            low, high = LIMITS[col]
            invalid = (present < low) | (present > high)
        rows[col] = {"missing": int(missing.sum()), "invalid": int(invalid.sum())}
    return pd.DataFrame.from_dict(rows, orient="index")


def audit_variant(*, zeros_missing=True, nan_invalid=False, codes=True, limits=True, mutate=False):
    def audit(raw):
        if mutate:
            raw["age"] = raw["age"].fillna(0)
        rows = {}
        for col in FEATURES:
            values = raw[col]
            missing = values.isna()
            if zeros_missing and col in ZERO_MEANS_MISSING:
                missing = missing | (values == 0)
            present = values if nan_invalid else values[~missing]
            invalid = pd.Series(False, index=present.index)
            if col in CODES["uci"] and codes:
                invalid = ~present.isin(CODES["uci"][col])
            elif col in LIMITS and limits:
                low, high = LIMITS[col]
                invalid = ~present.between(low, high) if nan_invalid else (present < low) | (present > high)
            rows[col] = {"missing": int(missing.sum()), "invalid": int(invalid.sum())}
        return pd.DataFrame.from_dict(rows, orient="index")
    return audit


def test_check_01_input_audit_accepts_a_right_function():
    message = accepts(labs.check_01_input_audit, audit_right)
    assert "ca" in message and "thal" in message and "no invalid cell" in message
    # the bundled file: the right function finds its gaps (the loader's count of incomplete rows)
    raw = read_raw_heart()
    table = audit_right(raw)
    incomplete = em.load_heart()[0].attrs["n_missing_rows"]
    assert table["invalid"].sum() == 0 and table["missing"].sum() >= incomplete
    # the corrupted copy has faults of every kind, and the original is left alone
    bad = audit_right(corrupted_heart(raw))
    assert bad.loc[list(CODES["uci"]), "invalid"].sum() > 0 and bad.loc[list(LIMITS), "invalid"].sum() > 0
    assert (bad["missing"] > table["missing"]).loc[["chol", "trestbps", "age"]].all()
    assert read_raw_heart().equals(raw)


def test_check_01_input_audit_rejects_the_usual_mistakes():
    check = labs.check_01_input_audit
    rejects(check, audit_variant(zeros_missing=False), hint="ZERO_MEANS_MISSING")
    rejects(check, audit_variant(nan_invalid=True), hint="a missing cell is not invalid")
    rejects(check, audit_variant(limits=False), hint="LIMITS")
    rejects(check, audit_variant(codes=False), hint="CODES['uci']")
    rejects(check, audit_variant(mutate=True), hint="changed the table")
    rejects(check, audit_right(read_raw_heart()), hint="pass the function itself")
    rejects(check, lambda raw: raw.isna().sum(), hint="two columns, 'missing' and 'invalid'")
    rejects(check, lambda raw: audit_right(raw).drop("age"), hint="rows ['age'] are missing")
    rejects(check, lambda raw: 1 / 0, hint="ZeroDivisionError")

    def zero_twice(raw):  # a 0 in chol counted as missing and as invalid
        table = audit_right(raw)
        for col in ZERO_MEANS_MISSING:
            table.loc[col, "invalid"] += int((raw[col] == 0).sum())
        return table
    rejects(check, zero_twice, hint="count it once, as missing")


# ---------------------------------------------------- 01.3 · lipid panels
@pytest.fixture(scope="module")
def synthea():
    Xs, ys, org = em.load_synthea(data_dir() / "synthea_sample")
    return Xs, ys, org, provider_labels(org.to_numpy())


def lipid_solution(Xs, ys, org, providers):
    table = pd.DataFrame({"provider": org.map(providers), "no_panel": Xs["total_cholesterol"].isna(),
                          "chd": ys})
    with_panel, without = table[~table["no_panel"]], table[table["no_panel"]]
    return pd.DataFrame({
        "no_panel_share": table.groupby("provider")["no_panel"].mean(),
        "chd_with_panel": with_panel.groupby("provider")["chd"].mean(),
        "chd_without_panel": without.groupby("provider")["chd"].mean(),
    })


def test_check_01_lipid_panels(synthea):
    Xs, ys, org, providers = synthea
    right = lipid_solution(Xs, ys, org, providers)
    assert right.shape == (4, 3) and right["no_panel_share"].between(0.05, 0.5).all()
    message = accepts(labs.check_01_lipid_panels, right, providers)
    assert "of a provider's patients have no lipid panel" in message
    accepts(labs.check_01_lipid_panels, right.iloc[::-1].assign(patients=1), providers)  # extra column
    check = labs.check_01_lipid_panels
    rejects(check, 100 * right, providers, hint="percentages")
    rejects(check, right.assign(no_panel_share=1 - right["no_panel_share"]), providers, hint="*without*")
    swapped = right.assign(chd_with_panel=right["chd_without_panel"],
                           chd_without_panel=right["chd_with_panel"])
    rejects(check, swapped, providers, hint="swapped")
    overall = ys.groupby(org.map(providers)).mean()
    rejects(check, right.assign(chd_with_panel=overall, chd_without_panel=overall), providers,
            hint="not per provider")
    counts = Xs["total_cholesterol"].isna().groupby(org.map(providers)).sum()
    rejects(check, right.assign(no_panel_share=counts), providers, hint="divide the count")
    rejects(check, right.assign(no_panel_share=counts / len(Xs)), providers, hint="own number of patients")
    by_id = right.rename(index={name: org_id for org_id, name in providers.items()})
    rejects(check, by_id, providers, hint="organization ids")
    rejects(check, right.drop(columns="chd_with_panel"), providers, hint="['chd_with_panel'] are missing")
    rejects(check, right.drop(index="provider D"), providers, hint="must be the providers")
    Xm = em.load_synthea(data_dir() / "synthea_sample", missing="median")[0]
    rejects(check, lipid_solution(Xm, ys, org, providers).fillna(0.0), providers, hint="missing='keep'")
    rejects(check, right.to_dict(), providers, hint="build a DataFrame")
    rejects(check, right, list(providers.values()), hint="plot_providers")
    rejects(check, right.assign(chd_with_panel=0.2), providers, hint="['chd_with_panel'] are wrong")


# ------------------------------------------------------ 02.1 · best split
def gini(counts):
    shares = counts / counts.sum()
    return 1 - np.sum(shares ** 2)


def split_score(left, right):
    n = left.sum() + right.sum()
    return left.sum() / n * gini(left) + right.sum() / n * gini(right)


def best_question(X, y):
    labels = np.asarray(y).astype(int)
    total = np.bincount(labels, minlength=2)
    best = None
    for feature in X.columns:
        values = np.unique(X[feature])
        for threshold in (values[:-1] + values[1:]) / 2:
            left = np.bincount(labels[X[feature].to_numpy() <= threshold], minlength=2)
            score = split_score(left, total - left)
            if best is None or score < best[2]:
                best = (feature, float(threshold), float(score))
    return best


@pytest.fixture(scope="module")
def synthea_split():
    Xs, ys, _ = em.load_synthea(data_dir() / "synthea_sample", missing="median")
    Xs_train, _, ys_train, _ = em.split_data(Xs, ys, test_size=0.3, random_state=0)
    return Xs_train, ys_train


def test_check_02_best_split_accepts_the_scan_and_the_trees_root(synthea_split):
    Xs_train, ys_train = synthea_split
    best = best_question(Xs_train, ys_train)
    message = accepts(labs.check_02_best_split, gini, split_score, best, Xs_train, ys_train)
    assert f"'{best[0]} <= " in message and f"{best[2]:.4f}" in message
    tree = em.train_tree(Xs_train, ys_train, max_depth=3, random_state=0)
    root = em.PortableTree.from_sklearn(tree).nodes[0]
    assert root.feature == best[0] and abs(root.threshold - best[1]) < 1e-4  # the tree asks the same
    accepts(labs.check_02_best_split, gini, split_score, (root.feature, root.threshold, best[2]),
            Xs_train, ys_train)
    as_dict = dict(zip(("feature", "threshold", "score"), best, strict=True))
    accepts(labs.check_02_best_split, gini, split_score, as_dict, Xs_train, ys_train)


def test_check_02_best_split_rejects_wrong_impurities(synthea_split):
    Xs_train, ys_train = synthea_split
    best = best_question(Xs_train, ys_train)
    check = labs.check_02_best_split

    def entropy(c):
        p = c[c > 0] / c.sum()
        return float(-(p * np.log2(p)).sum())
    rejects(check, lambda c: np.sum((c / c.sum()) ** 2), split_score, best, Xs_train, ys_train,
            hint="1 minus it")
    rejects(check, lambda c: 1 - np.sum(c ** 2), split_score, best, Xs_train, ys_train, hint="*shares*")
    rejects(check, entropy, split_score, best, Xs_train, ys_train, hint="entropy")
    rejects(check, lambda c: 1 - (c / c.sum()).max(), split_score, best, Xs_train, ys_train,
            hint="misclassification")
    rejects(check, lambda c: 0.5, split_score, best, Xs_train, ys_train, hint="3 healthy and 1 sick")
    rejects(check, lambda c: c[5], split_score, best, Xs_train, ys_train, hint="IndexError")
    rejects(check, 0.375, split_score, best, Xs_train, ys_train,
            hint="function itself")
    rejects(check, gini, lambda l, r: (gini(l) + gini(r)) / 2, best, Xs_train, ys_train, hint="averaged")
    rejects(check, gini, lambda l, r: gini(l) + gini(r), best, Xs_train, ys_train, hint="added")
    rejects(check, gini, lambda l, r: (r.sum() * gini(l) + l.sum() * gini(r)) / (l.sum() + r.sum()), best,
            Xs_train, ys_train, hint="swapped")
    rejects(check, gini, lambda l, r: gini(l + r), best, Xs_train, ys_train, hint="parent")


def test_check_02_best_split_rejects_wrong_questions(synthea_split, heart):
    Xs_train, ys_train = synthea_split
    feature, threshold, score = best_question(Xs_train, ys_train)
    check = labs.check_02_best_split
    table = scan_splits(Xs_train, ys_train)
    worst = table.nlargest(1, "score").iloc[0]
    rejects(check, gini, split_score, (worst.feature, worst.threshold, worst.score), Xs_train, ys_train,
            hint="*worst*")
    second = table[table["feature"] != feature].nsmallest(1, "score").iloc[0]
    rejects(check, gini, split_score, (second.feature, second.threshold, second.score), Xs_train, ys_train,
            hint="not the best question")
    values = np.unique(Xs_train[feature])
    data_value = float(values[values <= threshold].max())  # the same partition, not the midpoint
    rejects(check, gini, split_score, (feature, data_value, score), Xs_train, ys_train, hint="midpoint")
    rejects(check, gini, split_score, (feature, threshold, score + 0.01), Xs_train, ys_train,
            hint="score is not its weighted Gini")
    X, y = heart
    X_train, _, y_train, _ = em.split_data(X, y, test_size=0.3, random_state=0)
    rejects(check, gini, split_score, best_question(X_train, y_train), Xs_train, ys_train, hint="*heart*")
    rejects(check, gini, split_score, (list(Xs_train.columns).index(feature), threshold, score), Xs_train,
            ys_train, hint="column *index*")
    rejects(check, gini, split_score, ("height", threshold, score), Xs_train, ys_train, hint="column name")
    rejects(check, gini, split_score, (feature, threshold), Xs_train, ys_train, hint="three values")


# ------------------------------------------------------- 02.2 · CV depth
@pytest.fixture(scope="module")
def heart_split(heart):
    return em.split_data(*heart, test_size=0.3, random_state=0)


def cross_validate(X_train, y_train, folds):
    means = {}
    for depth in range(1, 11):
        scores = []
        for fit, held in folds.split(X_train, y_train):
            model = em.train_tree(X_train.iloc[fit], y_train.iloc[fit], max_depth=depth, random_state=0)
            scores.append(model.score(X_train.iloc[held], y_train.iloc[held]))
        means[depth] = np.mean(scores)
    return pd.Series(means)


def test_check_02_cv_depth(heart_split):
    from sklearn.model_selection import KFold, cross_val_score

    X_train, X_test, y_train, y_test = heart_split
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    cv = cross_validate(X_train, y_train, folds)
    depth = int(cv.idxmax())
    message = accepts(labs.check_02_cv_depth, cv, depth, X_train, y_train)
    assert f"chooses depth {depth}" in message
    same = {d: cross_val_score(em.train_tree(X_train, y_train, max_depth=d), X_train, y_train,
                               cv=folds).mean() for d in range(1, 11)}
    accepts(labs.check_02_cv_depth, same, np.int64(depth), X_train, y_train)  # a dict, sklearn's helper
    check = labs.check_02_cv_depth
    curve = em.tree.depth_curve(X_train, y_train, X_test, y_test, range(1, 11), random_state=0)
    rejects(check, curve.set_index("max_depth")["test_accuracy"], depth, X_train, y_train, hint="held-out")
    rejects(check, curve.set_index("max_depth")["train_accuracy"], depth, X_train, y_train,
            hint="training accuracies")
    rejects(check, cross_validate(X_train, y_train, StratifiedKFold(n_splits=5)), depth, X_train, y_train,
            hint="without shuffle")
    rejects(check, cross_validate(X_train, y_train, KFold(n_splits=5, shuffle=True, random_state=0)), depth,
            X_train, y_train, hint="KFold")
    rejects(check, cv.reset_index(drop=True), depth, X_train, y_train, hint="runs 0-9")
    rejects(check, cv.to_numpy(), depth, X_train, y_train, hint="Series indexed by the depth")
    rejects(check, cv.iloc[:5], depth, X_train, y_train, hint="each depth from 1 to 10")
    rejects(check, cv + 0.01, depth, X_train, y_train, hint="four folds")
    rejects(check, cv, int(cv.idxmin()), X_train, y_train, hint="*lowest*")
    others = [d for d in range(1, 11) if d not in (depth, int(cv.idxmin()))]
    rejects(check, cv, others[0], X_train, y_train, hint="idxmax")
    rejects(check, cv, float(depth) + 0.5, X_train, y_train, hint="whole number")


def test_check_02_cv_depth_prefers_the_shallower_tree_on_a_tie():
    # a table where depths 2 and 3 tie: built so that the checker's recomputation gives a tie
    X = pd.DataFrame({"a": np.repeat([0.0, 1.0], 20)})
    y = pd.Series(np.repeat([0, 1], 20))
    cv = cross_validate(X, y, StratifiedKFold(n_splits=5, shuffle=True, random_state=0))
    assert (cv == cv.max()).all()  # one split separates perfectly: every depth ties
    accepts(labs.check_02_cv_depth, cv, 1, X, y)
    rejects(labs.check_02_cv_depth, cv, 3, X, y, hint="shallower tree")


# ------------------------------------------------------ 03.1 · toy Paillier
TOY_P, TOY_Q, TOY_G = 17, 19, 2


def toy_functions(*, base=TOY_G, modulus_sq=True, mu_from_g=True, floor=True):
    n = TOY_P * TOY_Q
    n_sq = n * n
    lam = math.lcm(TOY_P - 1, TOY_Q - 1)

    def L(u):
        return (u - 1) // n if floor else (u - 1) / n

    mu = pow(int(L(pow(TOY_G, lam, n_sq))), -1, n) if mu_from_g else pow(lam, -1, n)

    def encrypt(m, r):
        mod = n_sq if modulus_sq else n
        return pow(base, m, mod) * pow(r, n, mod) % mod

    def decrypt(c):
        return L(pow(c, lam, n_sq)) * mu % n
    return encrypt, decrypt


def test_check_03_toy_paillier():
    encrypt, decrypt = toy_functions()
    message = accepts(labs.check_03_toy_paillier, encrypt, decrypt, TOY_P, TOY_Q, TOY_G)
    assert "n = 323" in message and "λ = 144" in message
    n = TOY_P * TOY_Q
    assert decrypt(encrypt(20, 3) * encrypt(22, 5) % n**2) == 42  # the homomorphic addition
    accepts(labs.check_03_toy_paillier, *toy_functions(base=1 + n, mu_from_g=False), TOY_P, TOY_Q, 1 + n)
    check = labs.check_03_toy_paillier
    rejects(check, toy_functions(base=1 + n)[0], decrypt, TOY_P, TOY_Q, TOY_G, hint="not 1 + n")
    rejects(check, toy_functions(modulus_sq=False)[0], decrypt, TOY_P, TOY_Q, TOY_G, hint="modulo n², not")
    rejects(check, lambda m, r: TOY_G ** m * r ** n % n**2 * 1.0, decrypt, TOY_P, TOY_Q, TOY_G, hint="float")
    rejects(check, lambda m, r: pow(TOY_G, m, n**2) * r % n**2, decrypt, TOY_P, TOY_Q, TOY_G, hint="r^n")
    rejects(check, lambda m, r: pow(TOY_G, m, n**2), decrypt, TOY_P, TOY_Q, TOY_G, hint="forgot the random")
    rejects(check, lambda m, r: pow(TOY_G, m, n**2) * pow(r, n, n**2), decrypt, TOY_P, TOY_Q, TOY_G,
            hint="reduce the product")
    rejects(check, lambda m: m, decrypt, TOY_P, TOY_Q, TOY_G, hint="TypeError")
    rejects(check, encrypt, toy_functions(mu_from_g=False)[1], TOY_P, TOY_Q, TOY_G, hint="only for g = 1 + n")
    rejects(check, encrypt, toy_functions(floor=False)[1], TOY_P, TOY_Q, TOY_G, hint="(//)")
    lam = math.lcm(TOY_P - 1, TOY_Q - 1)
    rejects(check, encrypt, lambda c: (pow(c, lam, n**2) - 1) // n % n, TOY_P, TOY_Q, TOY_G,
            hint="multiply L(c^λ mod n²) by μ")
    rejects(check, encrypt, lambda c: c % n, TOY_P, TOY_Q, TOY_G, hint="m = L(c^λ mod n²)")
    rejects(check, encrypt(3, 2), decrypt, TOY_P, TOY_Q, TOY_G, hint="toy_encrypt, without parentheses")


# ------------------------------------------------- 03.2 · subtracting ciphertexts
@pytest.fixture(scope="module")
def keys():
    return paillier.generate_paillier_keypair(n_length=1024)


def test_check_03_encrypted_difference(keys):
    public_key, private_key = keys
    n, n_sq = public_key.n, public_key.nsquare
    a, b = 82, 85
    ca = public_key.encrypt(a).ciphertext(be_secure=False)
    cb = public_key.encrypt(b).ciphertext(be_secure=False)
    right = ca * pow(cb, n - 1, n_sq) % n_sq
    assert "82 - 85 = -3" in accepts(labs.check_03_encrypted_difference, public_key, private_key, right, a, b)
    accepts(labs.check_03_encrypted_difference, public_key, private_key, ca * pow(cb, -1, n_sq) % n_sq, a, b)
    check = labs.check_03_encrypted_difference
    keys_ = (public_key, private_key)
    rejects(check, *keys_, cb * pow(ca, n - 1, n_sq) % n_sq, a, b, hint="sign is reversed")
    rejects(check, *keys_, ca * cb % n_sq, a, b, hint="as they are adds them")
    rejects(check, *keys_, pow(cb, n - 1, n_sq), a, b, hint="multiply it by E(a)")
    rejects(check, *keys_, pow(ca, n - 1, n_sq), a, b, hint="E(a)^(n-1) alone")
    rejects(check, *keys_, ca * pow(cb, n - 2, n_sq) % n_sq, a, b, hint="b(n - 1)")
    rejects(check, *keys_, ca * pow(cb, n - 1, n_sq) % n, a, b, hint="did you reduce modulo n?")
    rejects(check, *keys_, ca * pow(cb, n - 1, n_sq), a, b, hint="reduce the result modulo n²")
    rejects(check, *keys_, a - b, a, b, hint="difference in clear")
    rejects(check, *keys_, public_key.encrypt(a) - public_key.encrypt(b), a, b, hint="phe's -")
    rejects(check, *keys_, str(right), a, b, hint="python int")


# -------------------------------------------------- 03.3 · signed encoding
def signed_functions(n, *, wrap=True, keep_sign=True, raise_big=True, band=True, bound=None,
                     error=OverflowError):
    max_int = n // 3 - 1 if bound is None else bound

    def encode(v):
        if raise_big and abs(v) > max_int:
            raise error("too large")
        if not keep_sign:
            return abs(v)
        return v % n if wrap else v

    def decode(m):
        if m <= max_int:
            return m
        if m >= n - max_int or not band:
            return m - n
        raise error("overflow")
    return encode, decode


def test_check_03_signed_encoding(keys):
    public_key, private_key = keys
    n = public_key.n
    encode, decode = signed_functions(n)
    message = accepts(labs.check_03_signed_encoding, encode, decode, public_key, private_key)
    assert "decodes to -11" in message
    from phe import EncodedNumber
    assert encode(-3) == EncodedNumber.encode(public_key, -3).encoding  # phe's own rule
    check = labs.check_03_signed_encoding
    rejects(check, signed_functions(n, wrap=False)[0], decode, *keys, hint="v % n")
    rejects(check, signed_functions(n, keep_sign=False)[0], decode, *keys, hint="lost the sign")
    rejects(check, lambda v: v if v >= 0 else n - v, decode, *keys, hint="n - |v|")
    rejects(check, signed_functions(n, raise_big=False)[0], decode, *keys, hint="refuse |v| > max_int")
    rejects(check, signed_functions(n, bound=n // 3 - 2)[0], decode, *keys,
            hint="max_int = n // 3 - 1 itself is allowed")
    rejects(check, signed_functions(n, error=ValueError)[0], decode, *keys, hint="not another exception")
    rejects(check, encode, lambda m: m, *keys, hint="top third")
    rejects(check, encode, lambda m: m - n if m > n // 2 else m, *keys, hint="overflow band")
    rejects(check, encode, signed_functions(n, band=False)[1], *keys, hint="overflow band")
    rejects(check, encode, signed_functions(n, error=ValueError)[1], *keys, hint="not another exception")
    rejects(check, encode, lambda m: m - n, *keys, hint="only the top third")
    rejects(check, encode, signed_functions(n, bound=n // 3 - 2)[1], *keys, hint="bounds included")
    rejects(check, encode(-3), decode, *keys, hint="without parentheses")


def test_a_stub_of_the_student_version_is_not_graded_as_a_wrong_answer(keys):
    """The student version's stub raises NotImplementedError: the checkers let it through."""
    def stub(*args):
        raise NotImplementedError("Exercise: write your solution here")
    with pytest.raises(NotImplementedError):
        labs.check_01_input_audit(stub)
    with pytest.raises(NotImplementedError):
        labs.check_02_best_split(stub, stub, ("age", 1.0, 0.5), pd.DataFrame({"age": [1.0, 2.0]}), [0, 1])
    with pytest.raises(NotImplementedError):
        labs.check_03_toy_paillier(stub, stub, TOY_P, TOY_Q, TOY_G)
    with pytest.raises(NotImplementedError):
        labs.check_03_signed_encoding(stub, stub, *keys)
